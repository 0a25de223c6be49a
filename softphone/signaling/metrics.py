"""``/metrics`` in Prometheus' text format (prometheus_client), one registry per server.

Gauges are read from the live state at scrape time; counters and histograms count events
as they happen. Every sample carries ``node`` so that one dashboard shows every server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from softphone.signaling.protocol import CallReport

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


class _Live(Collector):
    def __init__(self, node: str, read: Callable[[], dict[str, tuple[str, float]]]) -> None:
        self._node = node
        self._read = read

    def collect(self) -> Iterable[Metric]:
        for name, (text, value) in self._read().items():
            family = GaugeMetricFamily(name, text, labels=["node"])
            family.add_metric([self._node], value)
            yield family


class ServerMetrics:
    def __init__(self, node: str, live: Callable[[], dict[str, tuple[str, float]]]) -> None:
        self.node = node
        self.registry = CollectorRegistry()  # live gauges: read at scrape time only
        self.registry.register(_Live(node, live))

        def counter(name: str, text: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, text, ["node", *labels], registry=self.registry)

        def seconds(name: str, text: str) -> Histogram:
            return Histogram(name, text, ["node"], buckets=_SECONDS, registry=self.registry)

        self.calls_started = counter("softphone_calls_started", "Calls that went live")
        self.calls_reattached = counter(
            "softphone_calls_reattached", "Parties that re-attached a live call with its ticket"
        )
        self.restart_relays = counter(
            "softphone_restart_relays", "Relayed ICE restart messages", ("kind",)
        )
        self.replay_dropped = counter(
            "softphone_replay_superseded_dropped", "Stale restart messages left out of replays"
        )
        self.episodes = counter(
            "softphone_reconnect_episodes",
            "Reconnect episodes reported by clients at call end, by outcome",
            ("role", "outcome"),
        )
        self.episode_seconds = seconds(
            "softphone_reconnect_episode_seconds", "Length of reported reconnect episodes"
        )
        self.ring_seconds = seconds(
            "softphone_ring_seconds", "From call request to an agent's phone ringing"
        )
        self.answer_seconds = seconds("softphone_answer_seconds", "From ringing to accepted")

    def report(self, role: str, report: CallReport) -> None:
        for episode in report.episodes:
            self.episodes.labels(self.node, role, episode.outcome).inc()
            self.episode_seconds.labels(self.node).observe(episode.duration_s)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
