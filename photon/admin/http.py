"""The HTTP sidecar: the spec's admin endpoints and Prometheus metrics. It only reads state."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from photon.admin.metrics import render_metrics
from photon.replication.views import admin_replication

if TYPE_CHECKING:
    from photon.node import Node


def health(server: "Node") -> dict[str, Any]:
    """The spec's /_health document, with a few more fields. Its status is "healthy" when
    this node serves what it should and the cluster is ok; the HTTP status is then 200, else
    503, so ``curl -f`` alerts."""
    first, last = server.shard_range
    cluster = server.cluster
    return {
        "status": cluster.health(),
        "node_status": cluster.node_health(),
        "cluster_state": "ok" if cluster.ok else "fail",
        "cluster_state_reason": cluster.reason,
        "coordinator": cluster.coordinator.name,
        "coordinator_problem": cluster.coordinator.problem(),
        "role": server.role,
        "shard_range": {"start": first, "end": last},
        "connected_replicas": server.master.online_links() if server.master is not None else 0,
        "node_id": server.node_id,
        "uptime_seconds": int(server.uptime()),
    }


async def start_http(server: "Node") -> web.AppRunner:
    app = web.Application()

    def json_view(view: Any, status: Any = None):
        async def handler(request: web.Request) -> web.Response:
            doc = view(server)
            return web.json_response(doc, status=status(doc) if status else 200)
        return handler

    app.router.add_get("/_health", json_view(
        health, lambda doc: 200 if doc["status"] == "healthy" else 503))
    # this node alone: a probe that one bad node elsewhere in the cluster must not fail
    app.router.add_get("/_health/node", json_view(
        health, lambda doc: 200 if doc["node_status"] == "healthy" else 503))
    app.router.add_get("/_admin/cluster", json_view(lambda s: s.cluster.view()))
    app.router.add_get("/_admin/replication", json_view(admin_replication))

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
