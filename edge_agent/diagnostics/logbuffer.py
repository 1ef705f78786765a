"""The agent's recent log lines, in memory, for the logs page (bounded, secrets redacted)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

from edge_agent.logging_setup import RedactingFormatter
from edge_agent.readings import iso_ts, utc_now

MAX_RECORDS = 500


class RecentLog(logging.Handler):
    def __init__(self, secrets: Iterable[str], capacity: int = MAX_RECORDS) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(RedactingFormatter("%(message)s", secrets))
        self.records: deque[dict[str, Any]] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
        except Exception:  # a logging call with bad arguments must not break the caller
            message = str(record.msg)
        self.records.append(
            {"ts": iso_ts(utc_now()), "level": record.levelname, "logger": record.name, "message": message}
        )

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def remove(self) -> None:
        logging.getLogger().removeHandler(self)
