"""Prometheus metrics: one registry per app, plan gauges refreshed from the database on scrape."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from store.health import StorageHealth, classify
from store.plan import usage
from store.setup import list_workspaces

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """The gateway's metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "contactgate_inbound_messages",
            "Inbound messages by channel kind and outcome",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "contactgate_webhook_requests",
            "Webhook requests by channel kind and HTTP status",
            ["channel", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "contactgate_request_seconds",
            "Request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.used = Gauge(
            "contactgate_plan_used",
            "Identities counted this period",
            ["workspace"],
            registry=self.registry,
        )
        self.cap = Gauge("contactgate_plan_cap", "Plan cap", ["workspace"], registry=self.registry)
        self.outbound = Counter(
            "contactgate_outbound",
            "Outbound sends by channel kind and outcome (sent, failed, unknown, not_recorded)",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.statuses = Counter(
            "contactgate_status",
            "Delivery statuses heard by channel kind, status and outcome (applied, stale,"
            " unknown_message)",
            ["channel", "status", "outcome"],
            registry=self.registry,
        )
        self._inbound_children: dict[tuple[str, str], Counter] = {}
        self._webhook_children: dict[tuple[str, int], Counter] = {}
        self._latency_children: dict[str, Histogram] = {}
        self.held = Gauge(
            "contactgate_held_messages",
            "Messages held at the cap",
            ["workspace"],
            registry=self.registry,
        )

    def watch_storage(self, health: StorageHealth) -> None:
        """Expose `contactgate_storage_errors_total{cause}` from the storage health's counts."""
        self.registry.register(_StorageErrors(health))

    def count_inbound(self, channel: str, outcome: str, n: int) -> None:
        """Count inbound messages (label children cached: .labels() is slow per request)."""
        key = (channel, outcome)
        child = self._inbound_children.get(key)
        if child is None:
            child = self._inbound_children[key] = self.inbound.labels(channel, outcome)
        child.inc(n)

    def count_outbound(self, channel: str, outcome: str) -> None:
        """Count one outbound send by what became of it."""
        self.outbound.labels(channel, outcome).inc()

    def count_statuses(self, channel: str, outcomes: Sequence[tuple[str, str]]) -> None:
        """Count the delivery statuses of one webhook by status and outcome."""
        for status, outcome in outcomes:
            self.statuses.labels(channel, status, outcome).inc()

    def count_webhook(self, channel: str, status: int) -> None:
        """Count one webhook request by its answer."""
        key = (channel, status)
        child = self._webhook_children.get(key)
        if child is None:
            child = self._webhook_children[key] = self.webhooks.labels(channel, str(status))
        child.inc()

    def observe_latency(self, route: str, seconds: float) -> None:
        """Record one request's latency under its route."""
        child = self._latency_children.get(route)
        if child is None:
            child = self._latency_children[route] = self.latency.labels(route)
        child.observe(seconds)

    async def render(self) -> tuple[bytes, str]:
        """Refresh the plan gauges, then the exposition text and its content type.

        In a storage fault the plan gauges keep their last values: the scrape that shows the
        fault's count must not fail with it.
        """
        try:
            await self._refresh_plan()
        except Exception as exc:
            if classify(exc, from_database=True) is None:
                raise
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    async def _refresh_plan(self) -> None:
        for ws in await list_workspaces():
            current = await usage(ws.slug)
            self.used.labels(ws.slug).set(current.used)
            self.cap.labels(ws.slug).set(current.cap)
            self.held.labels(ws.slug).set(current.held_messages)


class _StorageErrors(Collector):
    """Storage errors by cause, read from StorageHealth (the one place that counts them)."""

    def __init__(self, health: StorageHealth) -> None:
        self._health = health

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "contactgate_storage_errors", "Storage errors by cause", labels=["cause"]
        )
        for cause, n in sorted(self._health.counts.items()):
            family.add_metric([cause], n)
        yield family
