"""The API's figures for Prometheus, read on scrape: the running services' `figures()` (the
bus's counters, SLA checker passes, live-stream clients, notification deliveries), and what
the database holds now (open alarms, orders by state, SLA breaches)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from api.models import Alarm, OutboxMessage, SlaBreach, WorkOrder
from api.runtime import Runtime

Family = CounterMetricFamily | GaugeMetricFamily


class _ApiCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Family]:
        figures = self.runtime.services.figures()
        bus = figures.get("bus", {})
        for name, doc, value in (
            ("ew_api_messages_consumed", "MQTT messages stored", bus.get("consumed", 0)),
            ("ew_api_messages_published", "outbox messages published", bus.get("published", 0)),
            ("ew_api_dead_letters", "MQTT messages dead-lettered", bus.get("dead_letters", 0)),
            (
                "ew_api_sla_checks",
                "SLA checker passes",
                figures.get("sla_checker", {}).get("passes", 0),
            ),
        ):
            yield CounterMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily(
            "ew_api_mqtt_connected", "1 while the bus is connected to the broker",
            value=bus.get("connected", 0),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "ew_api_stream_clients", "live-stream (SSE) clients connected",
            value=figures.get("feed_hub", {}).get("clients", 0),
        )  # fmt: skip
        yield from self._stored()
        yield from self._notifications()

    def _notifications(self) -> Iterator[Family]:
        notifier = self.runtime.services.notifier
        if notifier is None:
            return
        queued = GaugeMetricFamily(
            "ew_api_notifications", "notification deliveries by channel and status",
            labels=["channel", "status"],
        )  # fmt: skip
        attempts = CounterMetricFamily(
            "ew_api_notification_attempts", "sends tried by this process",
            labels=["channel", "outcome"],
        )  # fmt: skip
        for channel, counts in sorted(notifier.figures().items()):
            for name, count in sorted(counts.items()):
                if name.startswith("attempts_"):
                    attempts.add_metric([channel, name.removeprefix("attempts_")], count)
                else:
                    queued.add_metric([channel, name], count)
        yield queued
        yield attempts

    def _stored(self) -> Iterator[Family]:
        with self.runtime.db.read() as session:
            alarms = session.execute(
                select(Alarm.site, Alarm.severity, Alarm.state, func.count())
                .where(Alarm.state != "closed")
                .group_by(Alarm.site, Alarm.severity, Alarm.state)
            ).all()
            orders = session.execute(
                select(WorkOrder.site, WorkOrder.state, WorkOrder.urgency, func.count()).group_by(
                    WorkOrder.site, WorkOrder.state, WorkOrder.urgency
                )
            ).all()
            breaches = session.execute(
                select(WorkOrder.site, SlaBreach.clock, func.count())
                .join(WorkOrder, WorkOrder.id == SlaBreach.order_id)
                .group_by(WorkOrder.site, SlaBreach.clock)
            ).all()
            pending = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None))
            )
        open_alarms = GaugeMetricFamily(
            "ew_api_alarms_open", "alarms not closed", labels=["site", "severity", "state"]
        )
        for site, severity, state, count in alarms:
            open_alarms.add_metric([site, severity, state], count)
        yield open_alarms
        by_state = GaugeMetricFamily(
            "ew_api_work_orders", "work orders by state", labels=["site", "state", "urgency"]
        )
        for site, state, urgency, count in orders:
            by_state.add_metric([site, state, urgency], count)
        yield by_state
        breached = CounterMetricFamily(
            "ew_api_sla_breaches", "SLA clocks that ran out", labels=["site", "clock"]
        )
        for site, clock, count in breaches:
            breached.add_metric([site, clock], count)
        yield breached
        yield GaugeMetricFamily(
            "ew_api_outbox_pending", "messages waiting to be published", value=int(pending or 0)
        )
        unknown = GaugeMetricFamily(
            "ew_api_calendar_year_unknown",
            "1 for a year (now to 45 days ahead) whose public holidays a site does not know",
            labels=["site", "year"],
        )
        for site, years in self.runtime.sites.calendar_gaps(self.runtime.clock.now()).items():
            for year in years:
                unknown.add_metric([site, str(year)], 1)
        yield unknown


def registry_for(runtime: Runtime) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_ApiCollector(runtime))
    return registry
