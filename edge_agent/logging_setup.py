"""Levelled logs to stderr (journald adds time and unit), with secrets redacted from every line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

REDACTED = "***"
_LINE_BREAKS = str.maketrans(
    {"\n": "\\n", "\r": "\\r", "\x0b": "\\v", "\x0c": "\\f", "\x85": "\\x85", "\u2028": "\\u2028"}
)


class RedactingFormatter(logging.Formatter):
    """Replaces every known secret value in the final text, tracebacks included, whoever logged it."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # A value from outside (an operator name, a transaction id) must not start a line of its
        # own: escape line breaks in the message; tracebacks, added after this, keep theirs.
        record.message = record.message.translate(_LINE_BREAKS)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class OncePerEpisode(logging.Filter):
    """Lets a repeating error through once, then once more (with the count) only after it has
    been quiet for `quiet_s`: asyncio logs every failed accept (out of file descriptors), which
    once made 400,000 lines in two minutes."""

    def __init__(self, prefix: str, quiet_s: float = 60.0) -> None:
        super().__init__()
        self.prefix, self.quiet_s = prefix, quiet_s
        self._last = -quiet_s
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefix):
            return True
        now, last = record.created, self._last
        self._last = now
        if now - last < self.quiet_s:
            self._suppressed += 1
            return False
        if self._suppressed:
            record.msg = f"{record.msg} (and {self._suppressed} more like it before)"
            self._suppressed = 0
        return True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    # Under systemd (JOURNAL_STREAM set) journald stamps the time; elsewhere we do.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if "JOURNAL_STREAM" not in os.environ:
        fmt = "%(asctime)s " + fmt
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(fmt, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries are chatty below WARNING; their failures reach us as exceptions anyway.
    quiet = max(logging.WARNING, logging.getLevelNamesMapping()[level])
    for noisy in ("paho", "pymodbus", "asyncio", "zeep", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(quiet)
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(existing, OncePerEpisode) for existing in asyncio_log.filters):
        asyncio_log.addFilter(OncePerEpisode("socket.accept() out of system resource"))
