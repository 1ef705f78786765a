"""The pages behind the login: overview, device detail, reports, actions, logs, and static files."""

from __future__ import annotations

import mimetypes

from aiohttp import web

from edge_agent.diagnostics import actions, reports
from edge_agent.diagnostics.pages import shell
from edge_agent.diagnostics.state import STATIC_DIR, state_of
from edge_agent.diagnostics.views import config_of, device_detail

# A fixed list read at start: a request can only name one of these files (no traversal possible).
STATIC_FILES = {path.name: path for path in STATIC_DIR.iterdir() if path.is_file()}


async def overview(request: web.Request) -> web.Response:
    return shell(request, "overview", state_of(request).overview())


async def device(request: web.Request) -> web.Response:
    state = state_of(request)
    device_id = request.match_info["device_id"]
    snapshot = state.agent.live.devices.get(device_id)
    if snapshot is None:
        return shell(request, "missing", {"device_id": device_id[:64]})
    data = {
        "device": device_detail(snapshot, config_of(state.agent.config.devices, device_id)),
        "history": state.history.of(device_id),
        "actions": [
            a
            for a in actions.catalogue(state.agent)
            if a["key"] in actions.for_device(state.agent, device_id, snapshot.kind)
        ],
    }
    return shell(request, "device", data)


async def reports_page(request: web.Request) -> web.Response:
    source = reports.source_of(state_of(request).agent)
    days = await source.days() if source is not None else None
    return shell(request, "reports", {"days": days})


async def actions_page(request: web.Request) -> web.Response:
    agent = state_of(request).agent
    devices = [
        {
            "device_id": d.device_id,
            "name": d.name or d.device_id,
            "kind": d.kind,
            "actions": actions.for_device(agent, d.device_id, d.kind),
        }
        for d in agent.live.devices.values()
    ]
    return shell(request, "actions", {"actions": actions.catalogue(agent), "devices": devices})


async def logs_page(request: web.Request) -> web.Response:
    return shell(request, "logs", {})


async def alarms_page(request: web.Request) -> web.Response:
    return shell(request, "alarms", {"alarms": state_of(request).alarms.rows()})


async def static(request: web.Request) -> web.StreamResponse:
    path = STATIC_FILES.get(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound()
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = web.FileResponse(path, headers={"Content-Type": content_type})
    response.headers["Cache-Control"] = "max-age=3600"
    return response


async def favicon(_request: web.Request) -> web.Response:
    """No icon (one request less on a slow link); answered so browsers stop asking."""
    return web.Response(status=204, headers={"Cache-Control": "max-age=86400"})
