"""JSON for the page and for tools: status, one device, actions, logs, report downloads."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_agent.diagnostics import actions, reports
from edge_agent.diagnostics.middleware import require_technician
from edge_agent.diagnostics.state import session_of, state_of
from edge_agent.diagnostics.views import config_of, device_detail

if TYPE_CHECKING:
    from edge_agent.diagnostics.view import AgentView

log = logging.getLogger(__name__)

DAY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_BODY = 8192


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str | None = Field(None, max_length=64)
    duration_min: int | None = Field(None, ge=1, le=24 * 60)
    reason: str | None = Field(None, max_length=200)


async def status(request: web.Request) -> web.Response:
    return web.json_response(state_of(request).overview())


async def device(request: web.Request) -> web.Response:
    state = state_of(request)
    device_id = request.match_info["device_id"]
    snapshot = state.agent.live.devices.get(device_id)
    if snapshot is None:
        raise web.HTTPNotFound(text='{"error":"no such device"}', content_type="application/json")
    detail = device_detail(snapshot, config_of(state.agent.config.devices, device_id))
    return web.json_response({"device": detail, "history": state.history.of(device_id)})


async def run_action(request: web.Request) -> web.Response:
    require_technician(request)
    state = state_of(request)
    spec = actions.ACTIONS.get(request.match_info["key"])
    if spec is None:
        raise web.HTTPNotFound(text='{"error":"no such action"}', content_type="application/json")
    parsed = await _action_request(request)
    if not actions.available(spec, state.agent):
        raise web.HTTPConflict(
            text='{"error":"not available on this cabinet"}', content_type="application/json"
        )
    _check_target(spec, parsed, state.agent)
    args = parsed.model_dump(exclude_none=True)
    session = session_of(request)
    result = await _run_safely(spec, state.agent, session.user, args)
    if spec.command is None:  # page-only actions; commands are audited by the dispatcher
        await state.audit.record(
            operator=session.user,
            source="web",
            module=f"web/{spec.key}",
            target=parsed.device_id,
            params={**args, "client": request.remote or "?"},
            result=result["status"],
        )
    return web.json_response(result)


def _check_target(spec: actions.ActionSpec, parsed: ActionRequest, agent: AgentView) -> None:
    """400 for a device the action does not apply to, or a maintenance window without a reason."""
    if spec.per_device:
        snapshot = agent.live.devices.get(parsed.device_id or "")
        if snapshot is None:
            raise _bad_request("unknown device_id")
        if spec.key not in actions.for_device(agent, snapshot.device_id, snapshot.kind):
            if spec.needs_relay and actions.applies_to(spec, snapshot.kind, has_relay=True):
                raise _bad_request(f"relay_not_configured: no relay powers {snapshot.device_id}")
            raise _bad_request(f"{spec.key} does not apply to {snapshot.kind} devices")
    if spec.command == "maintenance_start" and not (parsed.reason or "").strip():
        raise _bad_request("a maintenance window needs a reason")


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def alarms(request: web.Request) -> web.Response:
    return web.json_response({"alarms": state_of(request).alarms.rows()})


async def acknowledge_alarm(request: web.Request) -> web.Response:
    """A technician marks an alarm as seen; audited like every page action."""
    require_technician(request)
    state = state_of(request)
    session = session_of(request)
    alarm = state.alarms.acknowledge(int(request.match_info["alarm_id"]), session.user)
    if alarm is None:
        raise web.HTTPNotFound(text='{"error":"no such alarm"}', content_type="application/json")
    await state.audit.record(
        operator=session.user,
        source="web",
        module="web/alarm_ack",
        target=alarm.device_id,
        params={
            "alarm": alarm.id,
            "code": alarm.code,
            "raised": alarm.raised,
            "client": request.remote or "?",
        },
        result="ok",
    )
    return web.json_response({"alarm": asdict(alarm)})


async def _action_request(request: web.Request) -> ActionRequest:
    if (request.content_length or 0) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length or 0)
    try:
        body = await request.json() if request.can_read_body else {}
        return ActionRequest.model_validate(body)
    except (ValueError, ValidationError) as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"bad request: {type(exc).__name__}"}), content_type="application/json"
        ) from exc


async def _run_safely(
    spec: actions.ActionSpec, agent: Any, operator: str, args: dict[str, Any]
) -> dict[str, Any]:
    try:
        return await actions.run(agent, spec, operator=operator, args=args)
    except TimeoutError:
        return {"status": "error", "data": None, "error": {"code": "timeout", "message": "no result in time"}}
    except Exception as exc:
        log.exception("page action %s failed", spec.key)
        return {
            "status": "error",
            "data": None,
            "error": {"code": "internal_error", "message": type(exc).__name__},
        }


async def logs(request: web.Request) -> web.Response:
    state = state_of(request)
    return web.json_response(
        {"agent": list(state.recent_log.records), "audit": await state.audit.recent(300)}
    )


async def snapshot_download(request: web.Request) -> web.Response:
    agent = state_of(request).agent
    name = f"status-{agent.config.cabinet.id}"
    if request.match_info["fmt"] == "csv":
        return _download(reports.snapshot_csv(agent), f"{name}.csv", "text/csv")
    return _download(
        json.dumps(reports.snapshot(agent), ensure_ascii=False, indent=2), f"{name}.json", "application/json"
    )


async def daily_download(request: web.Request) -> web.Response:
    agent = state_of(request).agent
    source = reports.source_of(agent)
    day = request.match_info["day"]
    if source is None or not DAY_PATTERN.match(day):
        raise web.HTTPNotFound()
    report = await source.get(day)
    if report is None:
        raise web.HTTPNotFound()
    name = f"report-{agent.config.cabinet.id}-{day}"
    if request.match_info["fmt"] == "csv":
        return _download(reports.flat_csv(report), f"{name}.csv", "text/csv")
    return _download(json.dumps(report, ensure_ascii=False, indent=2), f"{name}.json", "application/json")


def _download(text: str, filename: str, content_type: str) -> web.Response:
    response = web.Response(text=text, content_type=content_type, charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
