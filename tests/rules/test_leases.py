"""How rules instances on a cluster share estates (`rules.leases.plan_moves`) and the KV
record an estate's state travels in."""

from __future__ import annotations

from rules.leases import ORPHAN_ROUNDS, Record, fair_share, plan_moves
from rules.loader import load_rules
from rules.plan import compile_site
from rules.state import new_state
from tests.rules.mqtt_helpers import other_site

SITES = [f"est-{i}" for i in range(5)]


def test_an_instance_takes_its_fair_share_of_the_free_estates() -> None:
    assert fair_share(5, 2) == 3
    moves = plan_moves(SITES, me="a", held=[], taken=[], live=2, free_rounds={})
    assert len(moves.take) == 3
    assert set(moves.take) <= set(SITES)
    assert moves.release == []


def test_two_instances_try_the_free_estates_in_different_orders() -> None:
    a = plan_moves(SITES, me="a", held=[], taken=[], live=5, free_rounds={})
    b = plan_moves(SITES, me="b", held=[], taken=[], live=5, free_rounds={})
    assert len(a.take) == len(b.take) == 1
    orders = {
        tuple(plan_moves(SITES, me=m, held=[], taken=[], live=1, free_rounds={}).take)
        for m in "abcdef"
    }
    assert len(orders) > 1


def test_an_instance_over_its_share_lets_one_estate_go_a_round() -> None:
    moves = plan_moves(SITES, me="a", held=SITES, taken=SITES, live=2, free_rounds={})
    assert moves.take == []
    assert len(moves.release) == 1


def test_an_estate_free_for_rounds_is_taken_whatever_the_share() -> None:
    rounds: dict[str, int] = {}
    held = SITES[:3]
    for _ in range(ORPHAN_ROUNDS):
        moves = plan_moves(SITES, me="a", held=held, taken=SITES[:4], live=2, free_rounds=rounds)
        assert moves.take == []
    moves = plan_moves(SITES, me="a", held=held, taken=SITES[:4], live=2, free_rounds=rounds)
    assert moves.take == ["est-4"]


def test_the_record_carries_state_alarms_position_and_unsent_events() -> None:
    site = other_site("est-0")
    plan = compile_site(site, load_rules(None, sites=[site]))
    state = new_state([plan], 1_000).sites["est-0"]
    outbox = [("ew.v1.est-0.alarm.x", b'{"a": 1}')]
    back = Record.from_bytes(Record.of(state, 42, outbox).to_bytes())
    assert back.seq == 42
    assert back.outbox == outbox
    assert back.snapshot is not None
    assert set(back.snapshot["devices"]) == set(plan.devices)
    assert back.alarms == []
    assert Record.from_bytes(None).seq is None
    assert Record.from_bytes(b'{"v": 99}').snapshot is None
