"""The fleet table: worst cabinets first, a summary line each, filters by site and district."""

from __future__ import annotations

import json

from support.fleet_messages import state, status

from edge_agent.fleet.view import FleetView, WatchFilter, render_table
from edge_agent.mqtt.topics import parse_topic


def _view() -> FleetView:
    view = FleetView()
    for message in [
        status("cab-ok", site="north/gate 1"),
        state("cab-ok", 1, "cam-1", "ok"),
        status("cab-down", site="south/bridge"),
        state("cab-down", 4, "cam-2", "offline", "power_supply"),
        state("cab-down", 2, "cam-2", "ok"),  # an older retained copy arriving late
        state("cab-down", 3, "radar", "ok"),
        status("cab-gone", "offline", site="north/school"),
    ]:
        parts = parse_topic("edge", message.topic)
        assert parts is not None
        view.apply(parts, json.loads(message.payload))
    return view


def test_worst_first_with_a_summary_line_per_cabinet() -> None:
    lines = render_table(_view(), WatchFilter(), now=0).splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["cab-gone", "cab-down", "cam-2", "cab-ok"]
    assert "offline" in lines[3] and "power_supply" in lines[3]
    assert "2 device(s): 1 offline, 1 ok" in lines[2]


def test_filters_by_site_pattern_and_district() -> None:
    north = render_table(_view(), WatchFilter(districts=("north",)), now=0)
    assert "cab-ok" in north and "cab-gone" in north and "cab-down" not in north
    bridge = render_table(_view(), WatchFilter(sites=("*/bridge",)), now=0)
    assert "cab-down" in bridge and "cab-ok" not in bridge
