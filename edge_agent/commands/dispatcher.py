"""Reads a command request, runs it, and builds the reply. Every bad input gets an error reply.

Requests are hostile until parsed: size first, then JSON, then the envelope, then the command's
own arguments. Nothing runs unless all of it is valid. A command that acts on hardware also needs
an operator and must not be disabled on this cabinet (`commands.disabled`,
`commands.hardware_actions: false`).

One entry for every transport: `dispatch(name, parsed request, source=...)`; MQTT payloads go
through `handle` (parse, then dispatch), the page and the local socket parse their own requests.

Audit: every request for a known command that is not read-only is written to the audit log
(source `mqtt`, `web` for the page, `cli` for the socket; module `cmd/<name>`, target = its
`device_id` argument), refused or not, with its result (`ok` or `error: <code>`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from edge_agent.audit import AuditLog, Source
from edge_agent.commands import command_names, find_command
from edge_agent.commands.context import CommandContext
from edge_agent.errors import CommandError
from edge_agent.memory_trim import release_free_memory
from edge_agent.mqtt.payloads import CommandErrorItem, CommandReplyPayload, CommandRequest
from edge_agent.readings import utc_now

log = logging.getLogger(__name__)

RATE_PER_S = 10.0
BURST = 20
# Arguments are flat records; anything deeper is an attack on the recursion of whoever walks it.
MAX_ARGS_DEPTH = 16


FLOODED = ("rate_limited", "too many commands")  # the page and the socket answer a flood with it


@dataclass(frozen=True)
class Unparsable:
    """A request that failed parsing: refused with its error (and its transaction, when salvageable)."""

    error: CommandError
    transaction: str | None


Parsed = CommandRequest | Unparsable


class Dispatcher:
    def __init__(
        self,
        *,
        max_payload_bytes: int,
        disabled: frozenset[str],
        make_context: Callable[[str | None, Source], CommandContext],
        hardware_actions: bool = True,
        audit: AuditLog | None = None,
    ) -> None:
        self.max_payload_bytes = max_payload_bytes
        self.disabled = disabled
        self.hardware_actions = hardware_actions
        self.audit = audit
        self.make_context = make_context
        self._tokens = float(BURST)
        self._refilled = time.monotonic()
        self._dropped = 0
        self.handled_total = 0

    async def handle(
        self, name: str, payload: bytes, *, source: Source = "mqtt"
    ) -> CommandReplyPayload | None:
        """A raw request (an MQTT payload): parsed as hostile, then `dispatch`ed."""
        return await self.dispatch(name, self.parse(payload), source=source)

    async def dispatch(self, name: str, request: Parsed, *, source: Source) -> CommandReplyPayload | None:
        """The one entry of every transport: the reply, or None when flooding (replies would only
        add to the flood; the page and the socket answer `FLOODED` then).

        `source` is the transport (`mqtt`, `web` for the page, `cli` for the socket): it goes into
        the audit record and, through the handler's context, into the events the command causes.
        """
        if not self._take_token():
            if not self._dropped:
                log.warning("command flood: dropping commands beyond %g/s", RATE_PER_S)
            self._dropped += 1
            return None
        if self._dropped:
            log.warning("command flood over: %d command(s) dropped", self._dropped)
            self._dropped = 0
            release_free_memory()  # what the flood's requests took goes back to the OS
        self.handled_total += 1
        if isinstance(request, Unparsable):
            return await self._refused(name, None, request.transaction, request.error, source)
        try:
            data = await self._run(name, request, source)
        except CommandError as exc:
            return await self._refused(name, request, request.transaction, exc, source)
        except Exception as exc:
            log.exception("command %r failed", name)
            await self._audit(name, request, "error: internal_error", source)
            return _reply(request.transaction, name, error=("internal_error", f"{type(exc).__name__}"))
        operator, transaction = request.operator or "-", request.transaction
        log.info("command %s (operator %s, transaction %s) done", name, operator, transaction)
        await self._audit(name, request, "ok", source)
        return _reply(request.transaction, name, data=data)

    async def _refused(
        self,
        name: str,
        request: CommandRequest | None,
        transaction: str | None,
        exc: CommandError,
        source: Source,
    ) -> CommandReplyPayload:
        log.info("command %r refused: %s", name[:64], exc)
        await self._audit(name, request, f"error: {exc.code}", source)
        return _reply(transaction, name, error=(exc.code, str(exc)))

    def parse(self, payload: bytes) -> Parsed:
        """Size first, then JSON, then the envelope."""
        if len(payload) > self.max_payload_bytes:
            error = CommandError(
                "payload_too_large", f"payload of {len(payload)} bytes exceeds {self.max_payload_bytes}"
            )
            return Unparsable(error, None)
        try:
            document = json.loads(payload)
        except (UnicodeDecodeError, ValueError) as exc:
            return Unparsable(CommandError("malformed_json", f"payload is not JSON: {exc}"), None)
        except RecursionError:
            return Unparsable(CommandError("malformed_json", "payload is nested too deeply"), None)
        return parse_document(document)

    async def _audit(self, name: str, request: CommandRequest | None, result: str, source: Source) -> None:
        command = find_command(name)
        if self.audit is None or command is None or command.read_only:
            return
        args = request.args if request is not None else {}
        target = args.get("device_id")
        try:
            await self.audit.record(
                request.operator if request is not None else None,
                source,
                f"cmd/{name}",
                target if isinstance(target, str) else None,
                {**args, "transaction": request.transaction if request is not None else None},
                result,
            )
        except OSError:
            log.exception("command %s: could not write the audit record", name)

    async def _run(self, name: str, request: CommandRequest, source: Source) -> dict[str, Any]:
        command = find_command(name)
        if command is None:
            known = ", ".join(sorted(command_names()))
            raise CommandError("unknown_command", f"unknown command {name[:64]!r}; known: {known}")
        if name in self.disabled or (command.acts_on_hardware and not self.hardware_actions):
            raise CommandError("disabled", f"command {name!r} is disabled on this cabinet")
        if command.acts_on_hardware and not request.operator:
            raise CommandError("missing_operator", f"command {name!r} acts on hardware: give an operator")
        _check_args_shape(request.args)
        try:
            args = command.args_model.model_validate(request.args)
        except ValidationError as exc:
            raise CommandError("invalid_args", _first_error(exc)) from exc
        return await command.handler(args, self.make_context(request.operator, source))

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(BURST, self._tokens + (now - self._refilled) * RATE_PER_S)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    path = ".".join(str(part) for part in error["loc"]) or "(payload)"
    return f"{path}: {error['msg']}"


def _check_args_shape(args: dict[str, Any]) -> None:
    """Refuse arguments nested too deeply or holding text that is not Unicode (a lone surrogate
    such as "\\ud800" is valid JSON but cannot be encoded, logged or written to the audit log)."""
    pending: list[tuple[str, Any, int]] = [("args", args, 1)]
    while pending:
        path, value, depth = pending.pop()
        if depth > MAX_ARGS_DEPTH:
            raise CommandError("invalid_args", f"{path}: nested deeper than {MAX_ARGS_DEPTH} levels")
        if isinstance(value, str) and not _is_unicode(value):
            raise CommandError("invalid_args", f"{path}: not valid Unicode text (lone surrogate)")
        if isinstance(value, dict):
            for key, item in value.items():
                if not _is_unicode(key):
                    raise CommandError("invalid_args", f"{path}: a key is not valid Unicode text")
                pending.append((f"{path}.{key}", item, depth + 1))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_document(document: Any) -> Parsed:
    """A decoded JSON document as a request envelope (the socket decodes its line itself)."""
    try:
        request = CommandRequest.model_validate(document)
    except ValidationError as exc:
        return Unparsable(CommandError("invalid_request", _first_error(exc)), _salvage_transaction(document))
    if not all(_is_unicode(text) for text in (request.transaction, request.operator or "")):
        error = CommandError("invalid_request", "transaction and operator must be valid Unicode text")
        return Unparsable(error, None)
    return request


def flood_reply(name: str, transaction: str | None) -> CommandReplyPayload:
    """What the page and the socket answer when `dispatch` drops a request in a flood."""
    return _reply(transaction, name, error=FLOODED)


def _salvage_transaction(document: Any) -> str | None:
    """Echo the transaction of a request that failed later checks, so the caller can match it."""
    transaction = document.get("transaction") if isinstance(document, dict) else None
    valid = isinstance(transaction, str) and 0 < len(transaction) <= 128 and _is_unicode(transaction)
    return transaction if valid else None


def _reply(
    transaction: str | None,
    name: str,
    *,
    data: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
) -> CommandReplyPayload:
    return CommandReplyPayload(
        transaction=transaction,
        command=name[:64],
        status="error" if error else "ok",
        data=data if error is None else None,
        error=CommandErrorItem(code=error[0], message=error[1]) if error else None,
        ts=utc_now(),
    )
