"""TLS contexts: the server side of --tls-port (clients and replicas connecting in) and the
client side of internal links (a replica connecting to its master with --tls-replication).

As Redis: the server presents --tls-cert-file/--tls-key-file; with --tls-ca-cert-file it
verifies client certificates per --tls-auth-clients (yes: required, optional: checked when
sent, no: not asked). An outgoing link presents the same certificate and verifies the peer
against the CA when one is configured (host names are not checked, as in Redis).
"""
from __future__ import annotations

import ssl
from typing import Any

from photon.errors import ConfigError


def _load_identity(ctx: ssl.SSLContext, config: Any) -> None:
    try:
        ctx.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"invalid value for tls_cert_file/tls_key_file: cannot load "
                          f"{config.tls_cert_file} with {config.tls_key_file}: {e}") from None


def _load_ca(ctx: ssl.SSLContext, config: Any) -> None:
    try:
        ctx.load_verify_locations(cafile=config.tls_ca_cert_file)
    except (OSError, ssl.SSLError) as e:
        raise ConfigError(f"invalid value for tls_ca_cert_file: cannot load "
                          f"{config.tls_ca_cert_file}: {e}") from None


def server_context(config: Any) -> ssl.SSLContext:
    if not config.tls_cert_file or not config.tls_key_file:
        raise ConfigError("invalid value for tls_port: TLS needs --tls-cert-file and "
                          "--tls-key-file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_identity(ctx, config)
    if config.tls_ca_cert_file:
        _load_ca(ctx, config)
        ctx.verify_mode = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL,
                           "no": ssl.CERT_NONE}[config.tls_auth_clients]
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_context(config: Any) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    if config.tls_cert_file and config.tls_key_file:
        _load_identity(ctx, config)
    if config.tls_ca_cert_file:
        _load_ca(ctx, config)
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
