"""The HTTP sidecar: the spec's admin endpoints and Prometheus metrics. It only reads state."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from photon.admin.metrics import render_metrics

if TYPE_CHECKING:
    from photon.server import Server


def health(server: "Server") -> dict[str, Any]:
    """The spec's /_health document, with a few more fields."""
    first, last = server.shard_range
    return {
        "status": server.cluster.health(),
        "role": server.role,
        "shard_range": {"start": first, "end": last},
        "connected_replicas": server.master.online_links(),
        "node_id": server.node_id,
        "uptime_seconds": int(server.uptime()),
    }


async def start_http(server: "Server") -> web.AppRunner:
    app = web.Application()
    views = server.admin_views
    views.setdefault("/_health", health)
    views.setdefault("/_admin/cluster", lambda s: s.cluster.view())

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
