"""The camera's clock from an HTTP Date header, and when a refused token is signed again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge_agent.devices.onvif_camera.signing import DateWitness, _corrected, http_date_offset

SENT = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def test_offset_from_a_date_fifteen_minutes_ahead() -> None:
    received = SENT + timedelta(seconds=0.2)
    offset = http_date_offset("Mon, 30 Nov 2026 12:15:00 GMT", SENT, received)
    assert offset == timedelta(seconds=900.4)  # +0.5 s for the truncated second, -0.1 s half the trip


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "yesterday",
        "Mon, 30 Nov 2026 25:61:00 GMT",
        "x" * 10_000,
        "Mon, 30 Nov 2026 12:15 GMT" + " " * 64,
    ],
)
def test_no_offset_from_what_is_not_a_date(header: str | None) -> None:
    assert http_date_offset(header, SENT, SENT) is None


def test_a_date_without_zone_is_taken_as_utc() -> None:
    offset = http_date_offset("Mon, 30 Nov 2026 11:00:00 -0000", SENT, SENT)
    assert offset == timedelta(minutes=-60, seconds=0.5)


def test_the_witness_keeps_the_last_date_it_could_read() -> None:
    witness = DateWitness()
    witness.saw("Mon, 30 Nov 2026 12:05:00 GMT", SENT, SENT)
    witness.saw("garbage", SENT, SENT)
    assert witness.offset == timedelta(seconds=300.5)


def test_signed_again_only_when_the_camera_clock_gives_a_better_offset() -> None:
    assert _corrected(None, None) is None  # no Date: nothing to learn, the refusal stands
    assert _corrected(None, timedelta(seconds=1.2)) is None  # in time: a wrong password
    assert _corrected(None, timedelta(seconds=900)) == timedelta(seconds=900)
    assert _corrected(timedelta(seconds=899), timedelta(seconds=900)) is None  # already signed so
