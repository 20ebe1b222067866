"""Redis 7.0's own command metadata, kept as data.

COMMAND INFO and COMMAND DOCS must answer as Redis does (redis-cli reads COMMAND DOCS for its
hints), and our declared arity, flags and key positions are checked against it in the tests.
The JSON beside this module was dumped from a real redis-server 7.0.15 (BSD-licensed metadata) by
``python -m photon.commands.reference HOST:PORT``.
"""
from __future__ import annotations

import functools
import json
import socket
import sys
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("redis_commands.json")


@functools.cache
def load() -> dict[str, Any]:
    """{'info': {name: COMMAND INFO entry}, 'docs': {name: COMMAND DOCS map}}, names lower-case."""
    with PATH.open() as f:
        return json.load(f)


def info(name: str) -> list | None:
    return load()["info"].get(name)


def docs(name: str) -> dict | None:
    return load()["docs"].get(name)


def _plain(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_plain(x) for x in v]
    return v


def _query(addr: str, *commands: list[bytes]) -> list[Any]:
    import hiredis

    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    reader = hiredis.Reader()
    out = []
    for argv in ([b"HELLO", b"3"], *commands):
        sock.sendall(b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv))
        while (reply := reader.gets()) is False:
            reader.feed(sock.recv(1 << 20))
        out.append(reply)
    sock.close()
    return out[1:]


def dump(addr: str) -> dict[str, Any]:
    infos, docs_ = _query(addr, [b"COMMAND", b"INFO"], [b"COMMAND", b"DOCS"])
    info_map: dict[str, Any] = {}
    for entry in _plain(infos):
        info_map[entry[0]] = entry
        for sub in entry[9]:
            info_map[sub[0]] = sub
    docs_map: dict[str, Any] = {}
    for name, doc in _plain(docs_).items():
        docs_map[name] = doc
        for subname, subdoc in doc.get("subcommands", {}).items():
            docs_map[subname] = subdoc
    return {"info": info_map, "docs": docs_map}


if __name__ == "__main__":
    data = dump(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:6379")
    PATH.write_text(json.dumps(data, separators=(",", ":")))
    print(f"{len(data['info'])} commands written to {PATH}")
