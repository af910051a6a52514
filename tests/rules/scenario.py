"""Drive the simulated estate and the pure engine together under estate time: the physics
steps, a stand-in gateway reads the devices, the built-in pack evaluates what it read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from estatewatch.clock import FakeClock, to_epoch_ms
from estatewatch.config import SiteConfig
from estatewatch.contracts.payloads import AlarmEvent, AlarmEventType
from rules.evaluate import Event, Tick, evaluate
from rules.loader import parse_rules
from rules.plan import compile_site
from rules.state import EngineState, new_state
from simulators.estate import SimulatedEstate
from simulators.harness import run_estate
from tests.rules.sim_gateway import SimGateway


class Scenario:
    def __init__(self, estate: SimulatedEstate, rules: str | None = None) -> None:
        self.estate = estate
        self.site = estate.site
        self.gateway = SimGateway(estate, estate.site)
        plan = compile_site(self.site, parse_rules(rules, sites=[self.site]))
        self.now = to_epoch_ms(estate.now)
        self.state: EngineState = new_state([plan], self.now)
        self.events: list[AlarmEvent] = []

    def run(self, seconds: float, *, every: float = 1.0, poll: bool = True) -> list[AlarmEvent]:
        """Let `seconds` of estate time pass, polling every `every` seconds (with `poll`
        False the gateway is away: the estate runs, nothing of it reaches the engine)."""
        found: list[AlarmEvent] = []
        for _ in range(round(seconds / every)):
            self.estate.step_once(every)
            self.now = to_epoch_ms(self.estate.now)
            for _, payload in self.gateway.poll(self.now) if poll else []:
                self.state, events = evaluate(self.state, payload, self.now)  # type: ignore[arg-type]
                found += events
            self.state, events = evaluate(self.state, Tick(patrol=False), self.now)
            found += events
        self.events += found
        return found

    def run_until(self, check: object, limit: float, *, every: float = 1.0) -> float:
        """Run until `check()` is true; the estate seconds it took (fails past `limit`)."""
        assert callable(check)
        waited = 0.0
        while not check():
            if waited >= limit:
                raise AssertionError(f"not within {limit} s: {self.summary()}")
            self.run(every, every=every)
            waited += every
        return waited

    def feed(self, payload: Event) -> list[AlarmEvent]:
        """Evaluate one message now (a gateway's state, say)."""
        self.state, events = evaluate(self.state, payload, self.now)
        self.events += events
        return events

    def raised(self) -> list[tuple[str, str]]:
        """The alarms raised in their own right: not those a root alarm explains (a power
        room's outage raises one alarm; what it stopped are its children, issue #23)."""
        return [
            (e.rule, e.target)
            for e in self.events
            if e.event is AlarmEventType.RAISED and e.parent_alarm_id is None
        ]

    def children(self) -> list[tuple[str, str]]:
        """The alarms raised as some root alarm's children."""
        return [
            (e.rule, e.target)
            for e in self.events
            if e.event is AlarmEventType.RAISED and e.parent_alarm_id is not None
        ]

    def active(self) -> set[tuple[str, str]]:
        return {
            (a.rule, a.target)
            for site in self.state.sites.values()
            for a in site.book.open.values()
            if a.active
        }

    def summary(self) -> str:
        return ", ".join(f"{e.event.value} {e.rule} {e.target}" for e in self.events[-20:])


@asynccontextmanager
async def scenario(
    site: SiteConfig, start: datetime, rules: str | None = None, seed: int = 1
) -> AsyncIterator[Scenario]:
    """A simulated estate (served on loopback, physics driven by hand) and the engine."""
    async with run_estate(site, seed=seed, clock=FakeClock(start)) as estate:
        yield Scenario(estate, rules)
