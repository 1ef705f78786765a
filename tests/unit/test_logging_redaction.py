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
