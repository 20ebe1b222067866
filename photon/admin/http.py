"""The HTTP sidecar: the spec's admin endpoints and Prometheus metrics. It only reads state."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from aiohttp import web

from photon.admin.metrics import render_metrics

if TYPE_CHECKING:
    from photon.server import Server


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_view(server: "Server") -> dict[str, Any]:
    return {
        "id": server.node_id,
        "role": server.role.capitalize() if server.role != "replica" else "Replica",
        "addr": f"{server.config.bind.split()[0]}:{server.port}",
        "http_addr": f"{server.config.bind.split()[0]}:{server.http_port}",
        "shard_range": {"start": 0, "end": len(server.engines) - 1},
        "last_heartbeat": _iso(__import__("time").time()),
    }


def health(server: "Server") -> dict[str, Any]:
    return {
        "status": "healthy",
        "role": server.role,
        "shard_range": {"start": 0, "end": len(server.engines) - 1},
        "connected_replicas": 0,
        "node_id": server.node_id,
        "uptime_seconds": int(server.uptime()),
    }


def cluster(server: "Server") -> dict[str, Any]:
    return {
        "nodes": [node_view(server)],
        "shards": len(server.engines),
        "replica_count": 0,
        "health": "healthy",
    }


def replication(server: "Server") -> dict[str, Any]:
    return {"role": server.role, "node_id": server.node_id, "replicas": []}


async def start_http(server: "Server") -> web.AppRunner:
    app = web.Application()
    views = server.admin_views
    views.setdefault("/_health", health)
    views.setdefault("/_admin/cluster", cluster)
    views.setdefault("/_admin/replication", replication)

    def json_view(path: str):
        async def handler(request: web.Request) -> web.Response:
            return web.json_response(views[path](server))
        return handler

    for path in list(views):
        app.router.add_get(path, json_view(path))

    async def metrics(request: web.Request) -> web.Response:
        body, content_type = render_metrics(server)
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host = server.config.bind.split()[0]
    site = web.TCPSite(runner, host, server.config.http_port, reuse_address=True)
    await site.start()
    if server.config.http_port == 0:
        server.http_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner
