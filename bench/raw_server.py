"""The "raw stack": the least a Python server on PhotonDB's stack can do per request.

    python bench/raw_server.py --port N --data-dir DIR

uvloop (plain asyncio without it), hiredis.Reader and plyvel with 16 LevelDB databases, one
per shard, chosen from the key as PhotonDB does. It knows PING, SET and GET, plus CONFIG GET
so that redis-benchmark starts quietly; anything else is an error. No command table, no
types, no expiry, no fsync, no statistics: every microsecond PhotonDB spends above this
server's is PhotonDB's own, which is what bench/compare_redis.py measures it for. LevelDB
gets the options PhotonDB gives it, so both pay the same storage cost.
"""
from __future__ import annotations

import argparse
import asyncio
import signal
from binascii import crc_hqx
from pathlib import Path

import hiredis
import plyvel

SHARDS = 16
OK, PONG, NIL = b"+OK\r\n", b"+PONG\r\n", b"$-1\r\n"
# redis-benchmark 7 asks for these two at start and warns when it gets no array back.
CONFIG = {b"save": b"", b"appendonly": b"no"}


class RawProtocol(asyncio.Protocol):
    """One connection; every reply of one read goes out in a single write, as in PhotonDB."""

    def __init__(self, dbs: list[plyvel.DB]) -> None:
        self.dbs = dbs
        self.reader = hiredis.Reader()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        reader, dbs, out = self.reader, self.dbs, []
        reader.feed(data)
        while True:
            try:
                argv = reader.gets()
            except hiredis.ProtocolError:
                out.append(b"-ERR Protocol error\r\n")
                self.transport.write(b"".join(out))  # type: ignore[union-attr]
                self.transport.close()  # type: ignore[union-attr]
                return
            if argv is False:
                break
            name = argv[0].upper() if type(argv) is list and argv else b""
            n = len(argv)
            if name == b"GET" and n == 2:
                key = argv[1]
                value = dbs[(crc_hqx(key, 0) & 0x3FFF) * SHARDS >> 14].get(key)
                out.append(NIL if value is None else b"$%d\r\n%b\r\n" % (len(value), value))
            elif name == b"SET" and n == 3:
                key = argv[1]
                dbs[(crc_hqx(key, 0) & 0x3FFF) * SHARDS >> 14].put(key, argv[2])
                out.append(OK)
            elif name == b"PING" and n == 1:
                out.append(PONG)
            elif name == b"CONFIG" and n == 3 and argv[2] in CONFIG:
                value = CONFIG[argv[2]]
                out.append(b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
                           % (len(argv[2]), argv[2], len(value), value))
            elif name == b"CONFIG":
                out.append(b"*0\r\n")
            else:
                out.append(b"-ERR unknown command or wrong number of arguments\r\n")
        if out:
            self.transport.write(b"".join(out))  # type: ignore[union-attr]


def open_dbs(data_dir: Path) -> list[plyvel.DB]:
    """PhotonDB's LevelDB options (storage/leveldb.py defaults), so storage costs the same."""
    return [plyvel.DB(str(data_dir / f"shard-{i:03d}"), create_if_missing=True,
                      lru_cache_size=8 << 20, write_buffer_size=4 << 20, max_open_files=128,
                      bloom_filter_bits=10) for i in range(SHARDS)]


async def serve(port: int, data_dir: Path, host: str = "127.0.0.1") -> None:
    """Serve until SIGTERM or SIGINT, then close the databases cleanly."""
    data_dir.mkdir(parents=True, exist_ok=True)
    dbs = open_dbs(data_dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: RawProtocol(dbs), host, port,
                                      reuse_address=True, backlog=511)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        for db in dbs:
            db.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=6390)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--data-dir", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        import uvloop
        run = uvloop.run
    except (ImportError, AttributeError):
        run = asyncio.run
    run(serve(args.port, args.data_dir, args.host))


if __name__ == "__main__":
    main()
