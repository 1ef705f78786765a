"""`resend_events`: the centre lost part of a cabinet's sequence and asks for it again.

Answered from the outbox's journal of acknowledged messages (`sent`, kept `journal_days`): the
same bytes, same `id` and `seq`, queued again (never retained). What the journal no longer holds
is reported in `missing`; for that range the centre falls back on what the cabinet still keeps
in summary form: the daily reports' month-to-date figures (ledger) and the audit log itself.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.commands import command
from edge_agent.commands.context import CommandContext
from edge_agent.errors import CommandError, OutboxError
from edge_agent.runtime.outbox import MAX_REQUEUE


class ResendArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    from_seq: int = Field(ge=1, description="First seq to send again.")
    to_seq: int = Field(ge=1, description="Last seq to send again (inclusive).")

    @model_validator(mode="after")
    def _range(self) -> ResendArgs:
        if self.to_seq < self.from_seq:
            raise ValueError("to_seq must not be below from_seq")
        if self.to_seq - self.from_seq >= MAX_REQUEUE:
            raise ValueError(f"at most {MAX_REQUEUE} seqs per request")
        return self


@command("resend_events", ResendArgs, read_only=True)
async def resend_events(args: ResendArgs, context: CommandContext) -> dict[str, Any]:
    """Queue the range again; `missing` lists the (from, to) runs the cabinet no longer holds."""
    try:
        requeued, missing = await context.emitter.outbox.requeue(args.from_seq, args.to_seq)
    except OutboxError as exc:
        raise CommandError("unavailable", str(exc)) from exc
    return {
        "from_seq": args.from_seq,
        "to_seq": args.to_seq,
        "requeued": requeued,
        "missing": [list(run) for run in missing],
    }
