"""Secrets never reach the log, not even inside a traceback."""

from __future__ import annotations

import logging

from edge_agent.logging_setup import RedactingFormatter


def test_secrets_are_redacted_from_messages_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s", ["hunter2-secret", ""])
    try:
        raise ValueError("auth failed with hunter2-secret")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "password %s", ("hunter2-secret",), sys.exc_info()
        )
    text = formatter.format(record)
    assert "hunter2" not in text and text.startswith("password ***")


def test_repeated_accept_errors_are_logged_once_per_episode() -> None:
    import logging as _logging

    from edge_agent.logging_setup import OncePerEpisode

    once = OncePerEpisode("socket.accept() out of system resource", quiet_s=60)
    records = [
        _logging.LogRecord(
            "asyncio", _logging.ERROR, __file__, 1, "socket.accept() out of system resource\nx", (), None
        )
        for _ in range(1000)
    ]
    for offset, record in enumerate(records):
        record.created = 1000.0 + offset * 0.001
    assert sum(once.filter(record) for record in records) == 1
    later = _logging.LogRecord(
        "asyncio", _logging.ERROR, __file__, 1, "socket.accept() out of system resource", (), None
    )
    later.created = 2000.0
    assert once.filter(later) and "999 more" in str(later.msg)
    other = _logging.LogRecord("asyncio", _logging.ERROR, __file__, 1, "something else", (), None)
    assert once.filter(other)
