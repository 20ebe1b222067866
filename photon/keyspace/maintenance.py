"""Background work on the keyspace: the active expiry cycle and reclaiming the subkeys of
dropped collections. Both run in small slices on the event loop, within a time budget."""
from __future__ import annotations

import time

from photon.keyspace import encoding as enc
from photon.keyspace.encoding import Meta
from photon.keyspace.keyspace import Keyspace


def expire_cycle(ks: Keyspace, budget_s: float = 0.002, per_shard: int = 100) -> int:
    """Delete keys whose TTL has passed, oldest first, from the expiry index."""
    if not ks.expire_deletes:
        return 0
    deadline = time.monotonic() + budget_s
    now = ks.tick()
    removed = 0
    ks.write_staged()  # the expiry index is read from the engines
    for shard in ks.shards:
        for db, count in enumerate(shard.expires):
            if not count:
                continue
            start = bytes((db, enc.EXPIRY))
            stop = enc.expiry_key(db, now + 1, b"")
            due = []
            for k in shard.engine.keys(start, stop):
                due.append(k)
                if len(due) >= per_shard:
                    break
            for k in due:
                key = k[10:]
                expire = enc.unpack_u64(k, 2)[0]
                mk = enc.meta_key(db, key)
                raw = ks.rget(shard.index, mk)
                if raw is None or enc.raw_expire(raw) != expire:
                    ks.rput(shard.index, k, None)  # a stale index entry
                    continue
                ks.expired += 1
                ks._drop(db, key, shard.index, mk, Meta.decode(raw))
                removed += 1
            ks.commit()
            if time.monotonic() > deadline:
                return removed
    return removed


def reclaim(ks: Keyspace, budget_s: float = 0.005, batch: int = 2000) -> int:
    """Delete old-version subkeys of dropped or replaced collections.

    These writes go straight to each node's own engine, unreplicated: the subkeys are invisible
    (their version no longer matches any metadata), and every node reclaims its own copy.
    """
    deadline = time.monotonic() + budget_s
    removed = 0
    gstart = bytes((enc.INTERNAL, ord("g")))
    gstop = enc.prefix_end(gstart)
    ks.write_staged()
    for shard in ks.shards:
        engine = shard.engine
        for gk in engine.keys(gstart, gstop):
            version = enc.unpack_u64(gk, 2)[0]
            db = gk[10]
            key = gk[11:]
            done = True
            for prefix in (enc.sub_prefix(db, key, version), enc.zscore_prefix(db, key, version)):
                ops: dict[bytes, bytes | None] = {}
                for k in engine.keys(prefix, enc.prefix_end(prefix)):
                    ops[k] = None
                    if len(ops) >= batch:
                        done = False
                        break
                if ops:
                    engine.write(ops)
                    ks._cached(ops)
                    removed += len(ops)
                if not done:
                    break
            if done:
                done_ops: dict[bytes, bytes | None] = {gk: None}
                engine.write(done_ops)
                ks._cached(done_ops)
            if time.monotonic() > deadline:
                return removed
    return removed
