"""Settings: one table says each setting's type, default, environment variable, flag and
whether CONFIG SET may change it. Sources, highest first: command-line flag, environment
(the spec's names where it has one, PHOTON_<NAME> otherwise), TOML file, default."""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from photon.errors import ConfigError

Parser = Callable[[str], Any]


def _int(lo: int | None = None, hi: int | None = None) -> Parser:
    def parse(text: str) -> int:
        try:
            v = int(str(text).strip(), 10)
        except ValueError:
            raise ValueError(f"'{text}' is not an integer") from None
        if lo is not None and v < lo or hi is not None and v > hi:
            raise ValueError(f"{v} is out of range ({lo} to {hi})")
        return v
    return parse


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
          "g": 1000**3, "gb": 1024**3}


def parse_memory(text: str) -> int:
    """Redis memory units: 1k = 1000, 1kb = 1024, and so on."""
    m = re.fullmatch(r"\s*(-?\d+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"'{text}' is not a memory size")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def _memory(lo: int = 0) -> Parser:
    def parse(text: str) -> int:
        v = parse_memory(text)
        if v < lo:
            raise ValueError(f"{v} is out of range ({lo} to None)")
        return v
    return parse


def _bool(text: str) -> bool:
    t = str(text).strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"'{text}' is not a boolean (yes/no)")


def _choice(*options: str) -> Parser:
    def parse(text: str) -> str:
        t = str(text).strip().lower()
        if t not in options:
            raise ValueError(f"'{text}' must be one of {', '.join(options)}")
        return t
    return parse


def _str(text: str) -> str:
    return str(text)


def _shards(text: str) -> int:
    v = _int(1, 16384)(text)
    if v & (v - 1):
        raise ValueError(f"{v} is not a power of two")
    return v


def _addr_list(text: str) -> str:
    """host:port[,host:port...], kept as text (empty: none)."""
    for addr in split_addrs(text):
        parse_addr(addr)
    return ",".join(split_addrs(text))


def split_addrs(text: str) -> list[str]:
    return [a.strip() for a in str(text).replace(" ", ",").split(",") if a.strip()]


def _coordinator(text: str) -> str:
    text = str(text).strip()
    if text == "builtin":
        return text
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("etcd", "etcds") or not parts.netloc:
        raise ValueError(f"'{text}' is neither builtin nor etcd://host:port[,host:port...]")
    for hostport in parts.netloc.split(","):
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"'{hostport}' in '{text}' is not host:port")
    return text


def _prefix(text: str) -> str:
    text = str(text).strip()
    if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", text):
        raise ValueError(f"'{text}' is not a key prefix like /photon/<cluster-name>")
    return text


def _optional_port(text: str) -> int:
    return _int(0, 65535)(text)


def parse_output_limits(text: str) -> dict[str, tuple[int, int, int]]:
    """client-output-buffer-limit: '<class> <hard> <soft> <soft seconds>' repeated."""
    parts = str(text).split()
    if not parts or len(parts) % 4:
        raise ValueError("expected '<class> <hard> <soft> <seconds>' groups")
    limits = {}
    for i in range(0, len(parts), 4):
        cls = parts[i].lower()
        if cls == "slave":
            cls = "replica"
        if cls not in ("normal", "pubsub", "replica"):
            raise ValueError(f"unknown client class '{parts[i]}'")
        limits[cls] = (parse_memory(parts[i + 1]), parse_memory(parts[i + 2]),
                       _int(0)(parts[i + 3]))
    return limits


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Parser
    default: Any
    help: str
    env: str | None = None
    runtime: bool = False  # CONFIG SET may change it
    redis_name: str | None = None  # its CONFIG GET name, when Redis has one
    flag: bool = True  # offered as a command-line flag

    @property
    def env_name(self) -> str:
        return self.env or "PHOTON_" + self.name.upper()

    @property
    def config_name(self) -> str:
        return self.redis_name or self.name.replace("_", "-")


SETTINGS: list[Setting] = [
    Setting("bind", _str, "127.0.0.1", "address to listen on (RESP and HTTP)"),
    Setting("port", _int(0, 65535), 6379, "RESP port"),
    Setting("http_port", _optional_port, 8080, "HTTP admin port (0 turns it off)"),
    Setting("data_dir", _str, "./data", "where shards are stored", redis_name="dir"),
    Setting("node_id", _str, "", "this node's id (default: generated once, kept in the data dir)",
            env="NODE_ID"),
    Setting("shards", _shards, 16, "shard count, a power of two from 1 to 16384"),
    Setting("databases", _int(1, 255), 16, "number of databases (SELECT 0..N-1)"),
    Setting("appendfsync", _choice("always", "everysec", "no"), "everysec",
            "when writes reach the disk", runtime=True),
    Setting("config", _str, "", "TOML settings file", flag=True),
    Setting("log_file", _str, "", "log to this file instead of standard output",
            redis_name="logfile"),
    Setting("log_level", _choice("debug", "verbose", "notice", "warning", "info", "error"),
            "notice", "log verbosity", runtime=True, redis_name="loglevel"),
    Setting("maxclients", _int(1, 1000000), 10000, "most clients connected at once",
            runtime=True),
    Setting("timeout", _int(0), 0, "close clients idle this many seconds (0: never)",
            runtime=True),
    Setting("proto_max_bulk_len", _memory(1024 * 1024), 512 * 1024 * 1024,
            "largest bulk string a client may send", runtime=True),
    Setting("client_query_buffer_limit", _memory(1024 * 1024), 1024 * 1024 * 1024,
            "largest unparsed input a client may hold", runtime=True),
    Setting("client_output_buffer_limit", parse_output_limits,
            "normal 256mb 64mb 60 replica 256mb 64mb 60 pubsub 32mb 8mb 60",
            "per class: hard limit, soft limit, soft seconds", runtime=True),
    Setting("slowlog_log_slower_than", _int(-1), 10000, "slow log threshold in microseconds",
            runtime=True),
    Setting("slowlog_max_len", _int(0), 128, "slow log entries kept", runtime=True),
    Setting("hz", _int(1, 500), 10, "background task frequency", runtime=True),
    Setting("role", _choice("standalone", "master", "replica"), "standalone",
            "standalone (no replicas, Redis semantics), master (quorum writes) or replica",
            env="NODE_ROLE"),
    Setting("shard_range", _str, "", "shards this node serves, 'a-b' (default: all)",
            env="SHARD_RANGE"),
    Setting("master_addr", _str, "", "a replica's master, host:port of its RESP port",
            env="MASTER_ADDR"),
    Setting("write_quorum", _int(1, 1000), 2,
            "copies (the master counts as one) that must hold a write before it is answered",
            runtime=True),
    Setting("replication_factor", _int(1, 1000), 3,
            "copies of each shard in a replicated group (the master and its replicas)"),
    Setting("quorum_timeout_ms", _int(1), 2000, "how long a write waits for its quorum",
            runtime=True),
    Setting("repl_backlog_size", _memory(16 * 1024), 1024 * 1024,
            "replication backlog kept per shard for partial resyncs", runtime=True),
    Setting("repl_sync_rate", _memory(0), 0,
            "full-sync throughput cap in bytes per second (0: unlimited)", runtime=True),
    Setting("repl_timeout", _int(1), 60, "seconds without traffic before a replication link "
            "is considered dead", runtime=True),
    # The cluster (photon/cluster): several shard groups, any client on any node.
    Setting("seeds", _addr_list, "", "nodes of a cluster to join through, host:port[,host:port...]",
            env="CLUSTER_SEEDS"),
    Setting("announce_addr", _str, "", "the host other nodes and clients reach this node at "
            "(default: the bind address; a wildcard bind announces this host's name)"),
    Setting("announce_port", _optional_port, 0, "the RESP port others reach this node at "
            "(default: port; behind NAT or a proxy)"),
    Setting("zone", _str, "", "this node's zone or region; forwarded reads prefer replicas in "
            "the same zone"),
    Setting("cluster_redirect", _bool, False, "answer keys of other groups with -MOVED, as "
            "Redis Cluster, for clients that route themselves (INFO cluster_enabled:1)",
            runtime=True),
    Setting("heartbeat_interval_ms", _int(10, 3_600_000), 10000,
            "how often nodes exchange heartbeats (the cluster's node table and shard map)",
            runtime=True),
    Setting("dead_after_ms", _int(20, 86_400_000), 30000,
            "a node not heard from for this long is marked dead", runtime=True),
    # Coordination (photon/cluster/coordinator.py): the built-in votes, or etcd.
    Setting("coordinator", _coordinator, "builtin", "builtin (the groups' own votes) or "
            "etcd://host:port[,host:port...] (etcds:// for TLS)"),
    Setting("coordinator_prefix", _prefix, "/photon/default", "the etcd key prefix of this "
            "cluster, /photon/<cluster-name>"),
    Setting("coordinator_ca_file", _str, "", "CA bundle that verifies etcd's certificate"),
    Setting("coordinator_cert_file", _str, "", "client certificate for etcd, PEM"),
    Setting("coordinator_key_file", _str, "", "private key of coordinator_cert_file, PEM"),
    Setting("coordinator_user", _str, "", "etcd user (with coordinator_password)"),
    Setting("coordinator_password", _str, "", "etcd password"),
    Setting("enable_read_replicas", _bool, True,
            "replicas serve reads themselves (read your writes kept)", env="ENABLE_READ_REPLICAS",
            runtime=True),
    Setting("leveldb_cache_mb", _int(1), 8, "LevelDB block cache per shard, MB"),
    Setting("leveldb_write_buffer_mb", _int(1), 4, "LevelDB memtable size per shard, MB"),
    Setting("record_cache", _int(0), 131072, "records (key metadata, fields) kept in memory "
            "in front of LevelDB, about 150 bytes each (0: off)"),
    # Security (photon/security): passwords, ACL users, protected mode, peers, TLS.
    Setting("requirepass", _str, "", "password of the default user (empty: none)",
            runtime=True),
    Setting("aclfile", _str, "", "ACL users file (default: users.acl in the data dir)"),
    Setting("protected_mode", _bool, True, "with no password, accept only loopback clients",
            runtime=True),
    Setting("masteruser", _str, "", "user a replica authenticates as on its master",
            runtime=True),
    Setting("masterauth", _str, "", "password a replica authenticates with on its master",
            runtime=True),
    Setting("cluster_secret", _str, "", "shared secret nodes prove on internal links "
            "(replication, forwarding); empty: internal links are not authenticated"),
    Setting("tls_port", _optional_port, 0, "TLS port for clients and replicas (0: off)"),
    Setting("tls_cert_file", _str, "", "server (and internal link) certificate, PEM"),
    Setting("tls_key_file", _str, "", "private key of tls_cert_file, PEM"),
    Setting("tls_ca_cert_file", _str, "", "CA bundle that verifies client and peer "
            "certificates"),
    Setting("tls_auth_clients", _choice("yes", "no", "optional"), "yes",
            "with a CA file: client certificates required (yes), checked if sent (optional) "
            "or not asked (no)"),
    Setting("tls_replication", _bool, False, "replicas connect to their master over TLS "
            "(master_addr is then the master's TLS port)"),
]
BY_NAME = {s.name: s for s in SETTINGS}
BY_CONFIG_NAME = {s.config_name: s for s in SETTINGS}


class Settings:
    """The resolved settings; attribute per setting."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]) -> None:
        self.__dict__.update(values)
        self._sources = dict(sources)

    def source(self, name: str) -> str:
        return self._sources[name]

    def set(self, name: str, text: str) -> None:
        setting = BY_NAME[name]
        try:
            value = setting.parse(text)
        except ValueError as e:
            raise ConfigError(f"invalid value for {name}: {e}") from None
        if name == "client_output_buffer_limit":  # classes not named keep their limits
            value = {**getattr(self, name), **value}
        setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {s.name: getattr(self, s.name) for s in SETTINGS}


def load(flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
         ) -> Settings:
    """Resolve every setting; a bad one raises ConfigError naming it, in one line."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    file_values: dict[str, Any] = {}
    config_path = flags.get("config") or env.get(BY_NAME["config"].env_name) or ""
    if config_path:
        try:
            with open(config_path, "rb") as f:
                raw = tomllib.load(f)
        except OSError as e:
            raise ConfigError(f"cannot read config file {config_path}: {e.strerror}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"config file {config_path} is not valid TOML: {e}") from None
        for key, value in raw.items():
            name = key.replace("-", "_")
            if name not in BY_NAME:
                raise ConfigError(f"unknown setting '{key}' in {config_path}")
            file_values[name] = value
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        if s.name in flags:
            text, where = flags[s.name], f"--{s.name.replace('_', '-')}"
        elif s.env_name in env:
            text, where = env[s.env_name], s.env_name
        elif s.name in file_values:
            text, where = file_values[s.name], config_path
            if isinstance(text, bool):
                text = "yes" if text else "no"
        else:
            values[s.name], sources[s.name] = (s.parse(s.default) if isinstance(s.default, str)
                                               and s.parse is not _str else s.default), "default"
            continue
        try:
            values[s.name] = s.parse(str(text))
        except ValueError as e:
            raise ConfigError(f"invalid value for {s.name} (from {where}): {e}") from None
        sources[s.name] = where
    _cross_check(values)
    return Settings(values, sources)


def parse_shard_range(text: str, shards: int) -> tuple[int, int]:
    """'a-b' (or a single 'a') -> (a, b), within the shard count."""
    if not text:
        return 0, shards - 1
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text)
    if not m:
        raise ValueError(f"'{text}' is not a range like 0-5")
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) is not None else a
    if a > b or b >= shards:
        raise ValueError(f"'{text}' is not within shards 0-{shards - 1}")
    return a, b


def parse_addr(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{text}' is not host:port")
    return host.strip("[]"), int(port)


def _cross_check(values: dict[str, Any]) -> None:
    """Settings that are only wrong together."""
    try:
        parse_shard_range(values["shard_range"], values["shards"])
    except ValueError as e:
        raise ConfigError(f"invalid value for shard_range: {e}") from None
    if values["role"] == "replica":
        if not values["master_addr"]:
            raise ConfigError("invalid value for master_addr: a replica needs MASTER_ADDR "
                              "(host:port of its master's RESP port)")
    if values["master_addr"]:
        try:
            parse_addr(values["master_addr"])
        except ValueError as e:
            raise ConfigError(f"invalid value for master_addr: {e}") from None
    if values["dead_after_ms"] <= values["heartbeat_interval_ms"]:
        raise ConfigError(f"invalid value for dead_after_ms: {values['dead_after_ms']} must be "
                          f"above heartbeat_interval_ms ({values['heartbeat_interval_ms']})")
    if values["role"] != "standalone" and values["write_quorum"] > values["replication_factor"]:
        raise ConfigError(f"invalid value for write_quorum: {values['write_quorum']} is above "
                          f"replication_factor {values['replication_factor']}, so no write could "
                          "ever be acknowledged")
