"""A small etcd v3 client over etcd's JSON gateway (``/v3/...``), with aiohttp.

Why the gateway rather than a gRPC client: aiohttp is already a dependency, the gateway is part
of every etcd v3 server (3.4 and later), and the calls PhotonDB makes are few and small (ranges,
transactions, leases). Keys and values travel base64-encoded; revisions come back as strings.
Endpoints are tried in turn; an endpoint that fails is skipped until the next call.
"""
from __future__ import annotations

import asyncio
import base64
import json
import ssl as ssl_module
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from photon.keyspace.encoding import prefix_end


class EtcdError(Exception):
    """etcd answered with an error, or no endpoint could be reached (``unreachable``)."""

    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


@dataclass
class KV:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    lease: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "KV":
        return cls(_unb64(d.get("key")), _unb64(d.get("value")),
                   int(d.get("create_revision", 0)), int(d.get("mod_revision", 0)),
                   int(d.get("lease", 0)))


def parse_endpoints(url: str) -> list[str]:
    """``etcd://h1:2379,h2:2379`` (or ``etcds://`` for TLS) -> base URLs; ValueError with the
    reason for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("etcd", "etcds") or not parts.netloc:
        raise ValueError(f"'{url}' is not etcd://host:port[,host:port...]")
    scheme = "https" if parts.scheme == "etcds" else "http"
    out = []
    for hostport in parts.netloc.split(","):
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"'{hostport}' in '{url}' is not host:port")
        out.append(f"{scheme}://{hostport}")
    return out


class EtcdClient:
    def __init__(self, endpoints: list[str], timeout: float = 2.0,
                 ssl: ssl_module.SSLContext | None = None, user: str = "",
                 password: str = "") -> None:
        self.endpoints = endpoints
        self.timeout = timeout
        self.ssl = ssl
        self.user = user
        self.password = password
        self._session: aiohttp.ClientSession | None = None
        self._token = ""
        self._current = 0

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        last: Exception | None = None
        for i in range(len(self.endpoints)):
            endpoint = self.endpoints[(self._current + i) % len(self.endpoints)]
            try:
                if self.user and not self._token and path != "/v3/auth/authenticate":
                    await self._authenticate(endpoint)
                headers = {"Authorization": self._token} if self._token else {}
                async with self._session.post(endpoint + path, data=json.dumps(body),
                                              headers=headers, ssl=self.ssl) as r:
                    doc = await r.json(content_type=None)
                if r.status != 200 or "error" in doc:
                    if "token" in str(doc.get("error", "")) and self.user:
                        self._token = ""  # expired: authenticate again next time
                    raise EtcdError(f"etcd {endpoint}{path}: "
                                    f"{doc.get('error') or doc.get('message') or r.status}")
                self._current = (self._current + i) % len(self.endpoints)
                return doc
            except EtcdError:
                raise
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as e:
                last = e
        raise EtcdError(f"no etcd endpoint answered ({', '.join(self.endpoints)}): "
                        f"{last or 'timeout'}", unreachable=True)

    async def _authenticate(self, endpoint: str) -> None:
        assert self._session is not None
        async with self._session.post(endpoint + "/v3/auth/authenticate",
                                      data=json.dumps({"name": self.user,
                                                       "password": self.password}),
                                      ssl=self.ssl) as r:
            doc = await r.json(content_type=None)
        if r.status != 200 or "token" not in doc:
            raise EtcdError(f"etcd refused user {self.user}: {doc.get('error', r.status)}")
        self._token = doc["token"]

    # --- calls ---------------------------------------------------------------------------

    async def get(self, key: bytes | str) -> KV | None:
        doc = await self._post("/v3/kv/range", {"key": _b64(key)})
        kvs = doc.get("kvs") or []
        return KV.from_json(kvs[0]) if kvs else None

    async def get_prefix(self, prefix: bytes | str) -> tuple[list[KV], int]:
        """Every key under prefix, and the store's revision at that moment."""
        p = prefix.encode() if isinstance(prefix, str) else prefix
        doc = await self._post("/v3/kv/range", {"key": _b64(p),
                                                "range_end": _b64(prefix_end(p))})
        return ([KV.from_json(d) for d in doc.get("kvs") or []],
                int(doc.get("header", {}).get("revision", 0)))

    async def put(self, key: bytes | str, value: bytes | str, lease: int = 0) -> int:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        doc = await self._post("/v3/kv/put", body)
        return int(doc.get("header", {}).get("revision", 0))

    async def txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]],
                  failure: list[dict[str, Any]] | None = None) -> tuple[bool, int, list]:
        """(succeeded, revision after it, responses)."""
        doc = await self._post("/v3/kv/txn", {"compare": compare, "success": success,
                                              "failure": failure or []})
        return (bool(doc.get("succeeded")), int(doc.get("header", {}).get("revision", 0)),
                doc.get("responses") or [])

    async def grant(self, ttl: int) -> int:
        doc = await self._post("/v3/lease/grant", {"TTL": str(ttl)})
        return int(doc["ID"])

    async def keepalive(self, lease: int) -> int:
        """The lease's remaining TTL; 0 when it has expired (it cannot be renewed)."""
        doc = await self._post("/v3/lease/keepalive", {"ID": str(lease)})
        return int(doc.get("result", {}).get("TTL", 0))

    async def revoke(self, lease: int) -> None:
        await self._post("/v3/lease/revoke", {"ID": str(lease)})


# --- transaction pieces ---------------------------------------------------------------------

def absent(key: bytes | str) -> dict[str, Any]:
    return {"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}


def mod_revision_is(key: bytes | str, revision: int) -> dict[str, Any]:
    return {"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(revision)}


def value_is(key: bytes | str, value: bytes | str) -> dict[str, Any]:
    return {"key": _b64(key), "target": "VALUE", "result": "EQUAL", "value": _b64(value)}


def put_op(key: bytes | str, value: bytes | str, lease: int = 0) -> dict[str, Any]:
    req: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
    if lease:
        req["lease"] = str(lease)
    return {"request_put": req}


def delete_op(key: bytes | str) -> dict[str, Any]:
    return {"request_delete_range": {"key": _b64(key)}}


def get_op(key: bytes | str) -> dict[str, Any]:
    return {"request_range": {"key": _b64(key)}}


def kvs_of(response: dict[str, Any]) -> list[KV]:
    return [KV.from_json(d) for d in response.get("response_range", {}).get("kvs") or []]
