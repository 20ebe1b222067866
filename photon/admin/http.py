"""The HTTP sidecar: the spec's admin endpoints and Prometheus metrics. It only reads state."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from photon.admin.metrics import render_metrics
from photon.replication.views import admin_replication

if TYPE_CHECKING:
    from photon.node import Node


def health(server: "Node") -> dict[str, Any]:
    """The spec's /_health document, with a few more fields."""
    first, last = server.shard_range
    return {
        "status": server.cluster.health(),
        "role": server.role,
        "shard_range": {"start": first, "end": last},
        "connected_replicas": server.master.online_links() if server.master is not None else 0,
        "node_id": server.node_id,
        "uptime_seconds": int(server.uptime()),
    }


async def start_http(server: "Node") -> web.AppRunner:
    app = web.Application()
    views = {
        "/_health": health,
        "/_admin/cluster": lambda s: s.cluster.view(),
        "/_admin/replication": admin_replication,
    }

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
