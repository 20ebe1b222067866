"""MULTI / EXEC / DISCARD / WATCH / UNWATCH (Redis's multi.c)."""
from __future__ import annotations

from photon.commands.dispatch import call
from photon.commands.table import command
from photon.errors import RedisError
from photon.protocol.reply import NULL_ARRAY, OK


@command("multi", 1, "noscript loading stale fast allow_busy", 0, 0, 0)
def multi(c, argv):
    if c.multi is not None:
        raise RedisError("ERR MULTI calls can not be nested")
    c.multi = []
    c.multi_dirty = False
    return OK


@command("discard", 1, "noscript loading stale fast allow_busy", 0, 0, 0)
def discard(c, argv):
    if c.multi is None:
        raise RedisError("ERR DISCARD without MULTI")
    c.server.watches.discard_transaction(c)
    return OK


@command("exec", 1, "noscript loading stale skip_slowlog", 0, 0, 0)
def exec_(c, argv):
    if c.multi is None:
        raise RedisError("ERR EXEC without MULTI")
    queued = c.multi
    watches = c.server.watches
    if c.multi_dirty:
        watches.discard_transaction(c)
        raise RedisError("EXECABORT Transaction discarded because of previous errors.")
    if c.watch_dirty or _watched_key_expired(c):
        watches.discard_transaction(c)
        return NULL_ARRAY
    # As Redis: unwatch before running (the transaction's own writes touch nothing it
    # watched), and stay in the MULTI state while the commands run (CLIENT INFO inside
    # says flags=x, multi=N, cmd=exec).
    watches.unwatch(c)
    exec_cmd = c.last_cmd
    results = []
    c.in_exec = True
    try:
        security = c.server.security
        for cmd, args in queued:
            denial = security.exec_denial(c, cmd, args) if c.acl is not None else None
            results.append(RedisError(denial) if denial else call(c, cmd, args))
            c.last_cmd = exec_cmd
    finally:
        c.in_exec = False
        c.multi = None
        c.multi_dirty = False
    return results


def _watched_key_expired(c) -> bool:
    """Redis aborts EXEC when a key that was live at WATCH time has since expired."""
    ks = c.server.keyspace
    ks.tick()
    for (db, key), was_live in c.watched.items():
        if was_live:
            _, _, raw = ks.raw_meta(db, key)
            if raw is not None and not ks.is_live(raw):
                return True
    return False


@command("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1)
def watch(c, argv):
    if c.multi is not None:
        raise RedisError("ERR WATCH inside MULTI is not allowed")
    watches = c.server.watches
    for key in argv[1:]:
        watches.watch(c, c.db, key)
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", 0, 0, 0)
def unwatch_(c, argv):
    c.server.watches.unwatch(c)
    return OK
