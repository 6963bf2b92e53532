"""Prometheus metrics, read live from the hub and the writer at scrape time, so the
hot paths only bump plain integers."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from live.web.services import Services


class LiveCollector(Collector):
    def __init__(self, svc: Services) -> None:
        self.svc = svc

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        hub, writer = self.svc.hub, self.svc.writer
        online = GaugeMetricFamily("live_connections", "Open sockets on this worker, by role", labels=["role"])
        totals: dict[str, int] = {}
        for rt in hub.runtimes.values():
            for c in rt.clients:
                totals[c.identity.role] = totals.get(c.identity.role, 0) + 1
        for role in ("audience", "panel", "host", "screen", "presenter"):
            online.add_metric([role], totals.get(role, 0))
        yield online
        yield CounterMetricFamily("live_ballots_committed", "Ballots stored or replaced, after commit",
                                  value=writer.ballots_committed)
        yield CounterMetricFamily("live_writer_batches", "Group-commit transactions of the writer",
                                  value=writer.batches)
        yield GaugeMetricFamily("live_writer_backlog", "Jobs waiting for the writer", value=writer.backlog)
        yield CounterMetricFamily("live_client_drops", "Sockets dropped because their queue was full",
                                  value=hub.drops)
        yield CounterMetricFamily("live_events_fanned", "Sequenced events delivered to this worker's clients",
                                  value=hub.events_fanned)
        yield CounterMetricFamily("live_messages_queued", "Messages put on client queues",
                                  value=hub.messages_sent_estimate)
        yield GaugeMetricFamily("live_broker_healthy", "1 when the broker is up (always 1 in-process)",
                                value=1 if hub.broker.healthy else 0)
        yield GaugeMetricFamily("live_meetings_loaded", "Meetings with a runtime on this worker",
                                value=len(hub.runtimes))


def registry_for(svc: Services) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=True)
    reg.register(LiveCollector(svc))
    return reg


async def metrics(request: Request) -> Response:
    """Only for a scraper holding LIVE_METRICS_TOKEN (``Authorization: Bearer …``);
    without a configured token the public app has no /metrics at all (404)."""
    svc: Services = request.app.state.services
    token = svc.settings.metrics_token
    sent = request.headers.get("authorization", "")
    if not token or not sent.lower().startswith("bearer ") or \
            not hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
        return Response("未找到该页面", status_code=404, media_type="text/plain; charset=utf-8")
    reg = getattr(request.app.state, "metrics_registry", None)
    if reg is None:
        reg = request.app.state.metrics_registry = registry_for(svc)
    return Response(generate_latest(reg), media_type="text/plain; version=0.0.4; charset=utf-8")
