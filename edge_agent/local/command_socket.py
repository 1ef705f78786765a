"""Commands from the cabinet itself: a Unix socket `<data_dir>/command.sock` (mode 0600, the
agent's user; root) for `edge-agent command`, e.g. the camera firmware playbook.

One request per connection: one JSON line `{"command", "transaction", "operator", "args"}`; the
answer is the same reply as on `cmd-reply`, one JSON line. Requests go through the dispatcher like
MQTT ones (parsed as hostile, operator rules, audited with source `cli`). A command may run long
(a firmware batch): the connection stays open until its reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path

from edge_agent.commands.dispatcher import Dispatcher, flood_reply, parse_document
from edge_agent.mqtt.payloads import CommandRequest

log = logging.getLogger(__name__)

SOCKET_NAME = "command.sock"
READ_TIMEOUT_S = 10.0


class CommandSocket:
    def __init__(self, path: Path, dispatcher: Dispatcher) -> None:
        self.path = path
        self.dispatcher = dispatcher
        self._server: asyncio.Server | None = None

    async def start(self) -> bool:
        """Listen; False (logged) when the socket cannot be made: the agent runs on without it."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # left by an agent that did not stop cleanly
        limit = self.dispatcher.max_payload_bytes + 1024
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=limit)
            os.chmod(self.path, 0o600)
        except OSError as exc:
            log.warning("no local command socket at %s: %s", self.path, exc)
            return False
        return True

    async def __aenter__(self) -> CommandSocket:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):
                    await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                line = await reader.readline()
            answer = await self._answer(line)
            writer.write(answer.encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ValueError, ConnectionError) as exc:  # ValueError: line over the limit
            log.info("local command connection dropped: %s", type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, line: bytes) -> str:
        try:
            document = json.loads(line)
            name = document.pop("command")
        except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
            return _error("malformed_json", 'one JSON object with "command" expected')
        except RecursionError:
            return _error("malformed_json", "request is nested too deeply")
        if not isinstance(name, str):
            return _error("invalid_request", "command must be a string")
        request = parse_document(document)
        reply = await self.dispatcher.dispatch(name, request, source="cli")
        if reply is None:
            transaction = request.transaction if isinstance(request, CommandRequest) else None
            reply = flood_reply(name, transaction)
        return reply.model_dump_json()


def _error(code: str, message: str) -> str:
    return json.dumps({"status": "error", "error": {"code": code, "message": message}})
