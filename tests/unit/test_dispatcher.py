"""Command parsing is total: any bytes get a well-formed reply, never an exception."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.audit import Source
from edge_agent.commands.context import CommandContext
from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.runtime.live_state import LiveState


def _context(operator: str | None, _source: Source) -> CommandContext:
    async def resend() -> None:
        return None

    return CommandContext("cab", operator, LiveState(), None, {}, lambda: {}, resend)  # type: ignore[arg-type]  # a test double or a deliberately wrong value


def _dispatcher() -> Dispatcher:
    dispatcher = Dispatcher(
        max_payload_bytes=4096, disabled=frozenset({"resend_birth"}), make_context=_context
    )
    dispatcher._take_token = lambda: True  # type: ignore[method-assign]  # rate limit is tested elsewhere
    return dispatcher


json_values: Any = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(max_size=80),
    payload=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
)
async def test_any_request_gets_a_reply(name: str, payload: bytes) -> None:
    reply = await _dispatcher().handle(name, payload)
    assert reply is not None
    assert reply.status in ("ok", "error")
    assert (reply.error is None) == (reply.status == "ok")
    json.loads(reply.model_dump_json())


async def test_disabled_command_is_refused() -> None:
    reply = await _dispatcher().handle("resend_birth", b'{"transaction": "t"}')
    assert reply is not None and reply.error is not None
    assert (reply.error.code, reply.transaction) == ("disabled", "t")
