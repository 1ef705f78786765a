"""Checks a central subscriber can make on what it received: gaps, order and duplicates by `seq`/`id`."""

from __future__ import annotations

from dataclasses import dataclass

from support.subscriber import Received


@dataclass(frozen=True)
class SequenceReport:
    first: int
    last: int
    unique: int
    duplicates: int


def assert_complete_sequence(messages: list[Received]) -> SequenceReport:
    """Every seq from the first to the last arrived, in order, and repeats are the same message (same id).

    Retained copies re-sent by the broker on (re)subscription are not part of the live stream and are
    skipped, as a subscriber checking order would.
    """
    seen: dict[str, int] = {}
    order: list[int] = []
    duplicates = 0
    for message in messages:
        if message.retain:
            continue
        body = message.json()
        if "seq" not in body:
            continue
        if body["id"] in seen:
            assert seen[body["id"]] == body["seq"], f"id {body['id']} came with two seqs"
            duplicates += 1
            continue
        seen[body["id"]] = body["seq"]
        order.append(body["seq"])
    assert order, "no sequenced messages received"
    assert order == sorted(order), f"out of order: {_first_disorder(order)}"
    expected = list(range(order[0], order[-1] + 1))
    missing = sorted(set(expected) - set(order))
    assert not missing, f"{len(missing)} seq missing, first ones: {missing[:10]}"
    assert len(order) == len(expected), "a seq arrived twice under different ids"
    return SequenceReport(order[0], order[-1], len(order), duplicates)


def _first_disorder(order: list[int]) -> str:
    for index in range(1, len(order)):
        if order[index] < order[index - 1]:
            return f"seq {order[index]} after {order[index - 1]} (position {index})"
    return "?"
