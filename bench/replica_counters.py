"""The replicas' Prometheus counters over a case of the fault matrix (bench/fault_matrix.py):
every gateway's and backend's /metrics (with METRICS_TOKEN), scraped every second, their
increases summed over the replicas as Prometheus's increase() would. A replica killed and
started again counts from 0 again; what it counted in its last second before the kill is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.topology import Topology

SCRAPE_SECONDS = 1.0

Key = tuple[str, tuple[tuple[str, str], ...]]  # a counter's name and labels
Counts = defaultdict[Key, float]
COUNTED = (
    "gateway_messages_received_total",
    "gateway_replies_sent_total",
    "gateway_rasa_errors_total",
    "gateway_rasa_retries_total",
    "gateway_telegram_send_retries_total",
    "gateway_outbound_deliveries_total",
    "backend_http_server_errors_total",
)


class Metrics:
    """Every gateway's and backend's /metrics, scraped every SCRAPE_SECONDS: increases of the
    counters above, summed over replicas. A replica whose process started again (its
    process_start_time_seconds changed) counts from 0."""

    def __init__(self, top: Topology, client: httpx.AsyncClient) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {top.metrics_token}"}
        self.targets = {
            r.name: f"http://127.0.0.1:{top.port(r.name)}/metrics"
            for service in ("gateway", "backend")
            for r in top.replicas(service)
        }
        self.last: dict[str, dict[Key, float]] = {}
        self.started: dict[str, float] = {}
        self.totals: Counts = defaultdict(float)
        self.failed_scrapes = 0

    async def scrape(self, name: str, url: str) -> None:
        try:
            r = await self.client.get(url, headers=self.auth, timeout=5)
            r.raise_for_status()
        except httpx.HTTPError:
            self.failed_scrapes += 1
            return
        now: dict[Key, float] = {}
        start = 0.0
        for family in text_string_to_metric_families(r.text):
            for sample in family.samples:
                if sample.name == "process_start_time_seconds":
                    start = sample.value
                elif sample.name in COUNTED:
                    now[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        before = self.last.get(name)
        if before is not None:
            restarted = self.started.get(name) != start
            for key, grown in increases(before, now, restarted=restarted).items():
                self.totals[key] += grown
        self.last[name], self.started[name] = now, start

    async def once(self) -> None:
        await asyncio.gather(*(self.scrape(n, u) for n, u in self.targets.items()))

    async def follow(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SCRAPE_SECONDS)

    def snapshot(self) -> Counts:
        return defaultdict(float, self.totals)


def increases(
    before: dict[Key, float], now: dict[Key, float], *, restarted: bool
) -> dict[Key, float]:
    """How much each counter grew between two scrapes of one replica, as Prometheus's
    increase() counts it: a counter lower than before started again from 0, and so did every
    counter of a process that started again (even one already past its old value)."""
    grown = {}
    for key, value in now.items():
        previous = 0.0 if restarted else before.get(key, 0.0)
        grown[key] = value - previous if value >= previous else value
    return grown


def total(counts: Counts, name: str, **labels: str) -> float:
    return sum(
        v
        for (n, key), v in counts.items()
        if n == name and all(dict(key).get(k) == want for k, want in labels.items())
    )
