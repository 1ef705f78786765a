"""Login sessions and login rate limiting, in memory (a reboot logs everyone out, which is fine).

Both are bounded: at most MAX_SESSIONS sessions (oldest evicted) and MAX_TRACKED failure records.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from edge_agent.diagnostics.users import Role

MAX_SESSIONS = 64
MAX_TRACKED = 1024


@dataclass
class Session:
    token: str
    user: str
    role: Role
    csrf: str
    expires: float  # monotonic
    credential: str = ""  # the password hash at login: a password change ends the session


class Sessions:
    def __init__(self, lifetime_s: float) -> None:
        self.lifetime_s = lifetime_s
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, user: str, role: Role, credential: str = "") -> Session:
        session = Session(
            token=secrets.token_urlsafe(32),
            user=user,
            role=role,
            csrf=secrets.token_urlsafe(32),
            expires=time.monotonic() + self.lifetime_s,
            credential=credential,
        )
        self._sessions[session.token] = session
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        if session.expires <= time.monotonic():
            del self._sessions[token]
            return None
        return session

    def retain(self, keep: Callable[[Session], bool]) -> int:
        """Drop every session `keep` refuses (user removed, role or password changed); how many went."""
        gone = [token for token, session in self._sessions.items() if not keep(session)]
        for token in gone:
            del self._sessions[token]
        return len(gone)

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    def __len__(self) -> int:
        return len(self._sessions)


@dataclass
class _Failures:
    count: int = 0
    first: float = 0.0
    locked_until: float = 0.0


class LoginLimiter:
    """Counts failed logins per user name and per client address; too many lock both for a while.

    Locking by address stops guessing many names; locking by name stops a spread-out attack on one
    account. A success clears the name's count (not the address's: one good password must not
    unlock guessing of the others).
    """

    def __init__(self, *, max_failures: int, lockout_s: float, window_s: float = 900.0) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.window_s = window_s
        self._records: OrderedDict[str, _Failures] = OrderedDict()

    def locked_for(self, user: str, address: str) -> float:
        """Seconds left of a lockout on this name or address (0: may try)."""
        now = time.monotonic()
        left = [r.locked_until - now for r in self._lookup(user, address)]
        return max([0.0, *left])

    def failed(self, user: str, address: str) -> None:
        now = time.monotonic()
        for key in (f"user:{user}", f"addr:{address}"):
            record = self._records.setdefault(key, _Failures(first=now))
            self._records.move_to_end(key)
            if now - record.first > self.window_s:
                record.count, record.first = 0, now
            record.count += 1
            if record.count >= self.max_failures:
                record.locked_until = now + self.lockout_s
                record.count, record.first = 0, now
        while len(self._records) > MAX_TRACKED:
            self._records.popitem(last=False)

    def succeeded(self, user: str) -> None:
        self._records.pop(f"user:{user}", None)

    def _lookup(self, user: str, address: str) -> list[_Failures]:
        keys = (f"user:{user}", f"addr:{address}")
        return [self._records[key] for key in keys if key in self._records]
