"""Helpers for the replication tests: a master and replicas started the spec's way (NODE_ID,
NODE_ROLE, SHARD_RANGE, MASTER_ADDR), waiting until they are in step, and comparing what the
nodes hold, through Redis commands or by reading every shard's LevelDB after a stop."""
from __future__ import annotations

import json
import re
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import redis

from tests.support import PhotonProcess

REPL_KEY = b"\xffr"
GARBAGE = b"\xffg"
_U32 = struct.Struct(">I")


def spec_env(node_id: str, role: str, master: PhotonProcess | None = None,
             shard_range: str | None = None, **extra: str) -> dict[str, str]:
    env = {"NODE_ID": node_id, "NODE_ROLE": role}
    if master is not None:
        env["MASTER_ADDR"] = f"127.0.0.1:{master.port}"
    if shard_range is not None:
        env["SHARD_RANGE"] = shard_range
    env.update(extra)
    return env


def start_group(make: Callable[..., PhotonProcess], replicas: int = 2, args: tuple = (),
                replica_args: tuple = (), wait: bool = True, shards: int | None = None,
                ) -> tuple[PhotonProcess, list[PhotonProcess]]:
    """A master and its replicas, started with the spec's environment variables."""
    extra = ("--shards", str(shards)) if shards else ()
    master = make(*extra, *args, name="master1", env=spec_env("master1", "master"))
    nodes = [make(*extra, *args, *replica_args, name=f"replica{i + 1}",
                  env=spec_env(f"replica{i + 1}", "replica", master))
             for i in range(replicas)]
    if wait:
        wait_in_step(master, nodes)
    return master, nodes


def info(node: PhotonProcess, section: str = "replication") -> dict[str, Any]:
    with node.client(socket_timeout=10) as c:
        return c.info(section)


def wait_until(pred: Callable[[], Any], timeout: float = 20.0, interval: float = 0.02,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = pred()
            if value:
                return value
        except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f" ({last_exc})" if last_exc else ""))


def in_step(master: PhotonProcess, replicas: list[PhotonProcess]) -> bool:
    m = info(master)
    if m["connected_slaves"] != len(replicas):
        return False
    offset = m["master_repl_offset"]
    slaves = [m[k] for k in m if re.fullmatch(r"slave\d+", k)]
    if any(s["state"] != "online" or s["offset"] != offset for s in slaves):
        return False
    for r in replicas:
        ri = info(r)
        if ri["master_link_status"] != "up" or ri["slave_repl_offset"] != offset:
            return False
    return True


def wait_in_step(master: PhotonProcess, replicas: list[PhotonProcess],
                 timeout: float = 30.0) -> None:
    wait_until(lambda: in_step(master, replicas), timeout,
               what=f"replicas {[r.port for r in replicas]} in step with {master.port}")


def admin(node: PhotonProcess, path: str = "/_admin/replication") -> dict[str, Any]:
    """An admin document; /_health answers 503 (with its document) when not healthy."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}{path}",
                                    timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        if e.code != 503:
            raise
        return json.loads(e.read())


# --- contents -----------------------------------------------------------------------------

_READERS = {
    b"string": lambda p, k: p.get(k),
    b"hash": lambda p, k: p.hgetall(k),
    b"list": lambda p, k: p.lrange(k, 0, -1),
    b"set": lambda p, k: p.smembers(k),
    b"zset": lambda p, k: p.zrange(k, 0, -1, withscores=True),
}


def logical_dump(client: redis.Redis, dbs: tuple[int, ...] = (0,)) -> dict:
    """Every key of the given databases with its type, value and whether it has a TTL, read
    through Redis commands (SCAN, TYPE and the type's read command), pipelined."""
    out: dict = {}
    for db in dbs:
        c = redis.Redis(connection_pool=client.connection_pool, db=db,
                        single_connection_client=True)
        c.execute_command("SELECT", db)
        try:
            cursor = 0
            while True:
                cursor, keys = c.scan(cursor, count=1000)
                if keys:
                    p = c.pipeline(transaction=False)
                    for k in keys:
                        p.type(k)
                    types = p.execute()
                    p = c.pipeline(transaction=False)
                    live = [(k, t) for k, t in zip(keys, types) if t != b"none"]
                    for k, t in live:
                        if t not in _READERS:
                            raise AssertionError(f"unexpected type {t!r}")
                        _READERS[t](p, k)
                        p.pttl(k)
                    replies = p.execute()
                    for i, (k, t) in enumerate(live):
                        v, ttl = replies[2 * i], replies[2 * i + 1]
                        if t == b"set":
                            v = sorted(v)
                        if ttl == -2:
                            continue  # expired between SCAN and now
                        out[(db, k)] = (t, v, ttl > 0)
                if cursor == 0:
                    break
        finally:
            c.execute_command("SELECT", 0)
            c.close()
    return out


def shard_dirs(node: PhotonProcess, node_id: str) -> list[Path]:
    root = node.data_dir / node_id
    return sorted(p for p in root.iterdir() if re.fullmatch(r"shard-\d{3}", p.name))


def raw_shards(node: PhotonProcess, node_id: str) -> dict[str, dict[bytes, bytes]]:
    """Each shard's LevelDB pairs (the node must be stopped), without the replication position
    and without what the background reclaimer may or may not have removed yet: garbage
    records and the old-version subkeys they point at."""
    import plyvel

    out = {}
    for path in shard_dirs(node, node_id):
        db = plyvel.DB(str(path))
        try:
            pairs = dict(db.iterator())
        finally:
            db.close()
        skip_prefixes = []
        for k in pairs:
            if k.startswith(GARBAGE):
                version = k[2:10]
                dbn = k[10]
                key = k[11:]
                for kind in (b"s", b"z"):
                    skip_prefixes.append(bytes((dbn,)) + kind + _U32.pack(len(key)) + key
                                         + version)
        out[path.name] = {
            k: v for k, v in pairs.items()
            if k != REPL_KEY and not k.startswith(GARBAGE)
            and not any(k.startswith(p) for p in skip_prefixes)
        }
    return out


def position(node: PhotonProcess, node_id: str, shard: int) -> tuple[bytes, int]:
    import plyvel

    db = plyvel.DB(str(node.data_dir / node_id / f"shard-{shard:03d}"))
    try:
        raw = db.get(REPL_KEY)
    finally:
        db.close()
    replid, offset = struct.unpack_from(">40sQ", raw)
    return replid, offset


def assert_same_shards(a: dict[str, dict[bytes, bytes]], b: dict[str, dict[bytes, bytes]],
                       what: str = "") -> None:
    assert a.keys() == b.keys()
    for shard in a:
        if a[shard] != b[shard]:
            only_a = sorted(set(a[shard]) - set(b[shard]))[:5]
            only_b = sorted(set(b[shard]) - set(a[shard]))[:5]
            differ = sorted(k for k in set(a[shard]) & set(b[shard])
                            if a[shard][k] != b[shard][k])[:5]
            raise AssertionError(f"{what} {shard} differs: only in first {only_a}, only in "
                                 f"second {only_b}, different values {differ}")


def sync_counts(node: PhotonProcess) -> tuple[int, int]:
    stats = info(node, "stats")
    return stats["sync_full"], stats["sync_partial_ok"]


def load(client: redis.Redis, n: int, prefix: str = "k", size: int = 0, batch: int = 100,
         start: int = 0) -> None:
    """n string keys prefix<i> = v<i> (padded to size), pipelined."""
    pad = "x" * size
    for lo in range(start, start + n, batch):
        p = client.pipeline(transaction=False)
        for i in range(lo, min(lo + batch, start + n)):
            p.set(f"{prefix}{i}", f"v{i}{pad}")
        p.execute()


def check_loaded(client: redis.Redis, n: int, prefix: str = "k", size: int = 0,
                 start: int = 0) -> None:
    pad = "x" * size
    keys = [f"{prefix}{i}" for i in range(start, start + n)]
    for lo in range(0, n, 500):
        values = client.mget(keys[lo:lo + 500])
        for i, v in enumerate(values, start + lo):
            assert v == f"v{i}{pad}".encode(), f"{prefix}{i}: {v!r}"
