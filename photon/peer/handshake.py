"""What a node sends when it opens an internal link to another node (replication stream,
forwarded commands, cluster gossip): AUTH with --masteruser/--masterauth when set, then
PHOTON.AUTH proving the cluster secret; and the TLS context to connect with when
--tls-replication is on."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import ssl
import time
from typing import Any

from photon.protocol.encoder import encode_request


def peer_mac(secret: bytes, node_id: bytes, ts: bytes, nonce: bytes) -> str:
    return hmac.new(secret, b"photon-peer|%s|%s|%s" % (node_id, ts, nonce),
                    hashlib.sha256).hexdigest()


def handshake_requests(config: Any, node_id: str) -> list[bytes]:
    """Encoded requests, in order; every reply must be +OK."""
    out = []
    password = config.__dict__.get("masterauth")
    if password:
        user = config.__dict__.get("masteruser")
        args = ([user.encode()] if user else []) + [password.encode("utf-8", "surrogateescape")]
        out.append(encode_request(b"AUTH", *args))
    out.append(encode_request(b"PHOTON.AUTH", *peer_proof(config, node_id)))
    return out


def peer_proof(config: Any, node_id: str) -> list[bytes]:
    """node-id, unix ms, nonce, HMAC-SHA256(cluster secret, all three)."""
    secret = (config.__dict__.get("cluster_secret") or "").encode()
    nid = node_id.encode()
    ts = b"%d" % int(time.time() * 1000)
    nonce = secrets.token_hex(16).encode()
    return [nid, ts, nonce, peer_mac(secret, nid, ts, nonce).encode()]


def ssl_context(config: Any) -> ssl.SSLContext | None:
    """The client TLS context for internal links, or None when they are plain TCP."""
    if not config.__dict__.get("tls_replication"):
        return None
    from photon.peer import tls

    return tls.client_context(config)
