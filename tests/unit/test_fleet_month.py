"""A scripted November: the month report's rates and penalties equal the hand calculation exactly,
for each example contract (traffic, video, carrier).

Fleet (Asia/Shanghai, days of 86,400 s, November = 2,592,000 s):
  cab-a (north/gate): radar, cam-lane-1, cam-panorama, uplink
  cab-b (south/bridge): radar, cam-1, uplink; cab-b sends no report for the 20th-22nd.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from edge_agent.fleet.contracts import example_contracts
from edge_agent.fleet.ingest import Incoming, Ingestor
from edge_agent.fleet.month import MonthReport, month_report
from edge_agent.fleet.render import render
from edge_agent.fleet.store import Store
from edge_agent.mqtt.payloads import DailyReportPayload, DeviceStatePayload, StatusPayload
from edge_agent.mqtt.topics import Topics

DAY = 86_400
MONTH = 30 * DAY
KINDS = {"radar": "serial", "cam-lane-1": "onvif_camera", "cam-panorama": "onvif_camera",
         "cam-1": "onvif_camera", "uplink": "link"}  # fmt: skip
# (cabinet, device, day of November) -> offline seconds per cause; (..., "unknown") -> unknown seconds
OFFLINE: dict[tuple[str, str, int], dict[str, int]] = {
    ("cab-a", "radar", 3): {"device": 3600},
    ("cab-a", "radar", 10): {"power_supply": 7200},
    ("cab-a", "cam-lane-1", 5): {"device": DAY},
    ("cab-a", "cam-lane-1", 6): {"device": 50_000},
    ("cab-a", "cam-panorama", 7): {"network_carrier": DAY},
    ("cab-a", "cam-panorama", 8): {"device": 10_000},
    ("cab-a", "uplink", 12): {"network_carrier": 18_000},  # 10:00-15:00
    ("cab-a", "uplink", 25): {"network_carrier": 3600},  # 09:00-10:00
    ("cab-b", "cam-1", 2): {"device": 20_000},
    ("cab-b", "uplink", 4): {"power_supply": 7200},
    ("cab-b", "uplink", 28): {"network_carrier": 14_400},  # 20:00 to the 29th 02:00
    ("cab-b", "uplink", 29): {"network_carrier": 7200},
}
UNKNOWN = {("cab-b", "radar", 15): DAY}
DEVICES = {"cab-a": ["radar", "cam-lane-1", "cam-panorama", "uplink"], "cab-b": ["radar", "cam-1", "uplink"]}
SITES = {"cab-a": "north/gate", "cab-b": "south/bridge"}
# Carrier outages as the uplinks' state changes: (cabinet, start, end) in UTC (local - 8 h).
LINK_OUTAGES = [
    ("cab-a", datetime(2026, 11, 12, 2, tzinfo=UTC), datetime(2026, 11, 12, 7, tzinfo=UTC)),
    ("cab-a", datetime(2026, 11, 25, 1, tzinfo=UTC), datetime(2026, 11, 25, 2, tzinfo=UTC)),
    ("cab-b", datetime(2026, 11, 28, 12, tzinfo=UTC), datetime(2026, 11, 28, 18, tzinfo=UTC)),
]


def _line(cabinet: str, device: str, day: int) -> dict[str, object]:
    causes = OFFLINE.get((cabinet, device, day), {})
    unknown = UNKNOWN.get((cabinet, device, day), 0)
    offline = sum(causes.values())
    state_s = {"ok": DAY - offline - unknown, "offline": offline, "unknown": unknown}
    seconds = {"state_s": state_s, "offline_cause_s": causes, "online_rate": None}
    replace = ["sd_missing"] if (cabinet, device, day) == ("cab-a", "cam-lane-1", 20) else []
    return {
        "device_id": device, "kind": KINDS[device], "state": "ok", "cause": None, "day": seconds,
        "month": seconds, "faults_raised": [], "faults_cleared": [], "faults_active": [],
        "replace_recommended": replace, "values": {},
    }  # fmt: skip


def _messages() -> list[Incoming]:
    messages = []
    for cabinet, devices in DEVICES.items():
        topics = Topics("edge", cabinet)
        status = StatusPayload(
            state="online",
            cabinet_id=cabinet,
            site=SITES[cabinet],
            boot_id="b",
            agent_version="1",
            config_hash="h",
            ts=datetime(2026, 11, 1, tzinfo=UTC),
        )  # type: ignore[call-arg]  # pydantic fills the other fields from their defaults
        messages.append(Incoming(topics.status, status.model_dump_json().encode(), 0))
        for day in range(1, 31):
            if cabinet == "cab-b" and 20 <= day <= 22:
                continue  # the cabinet sent nothing: unknown time
            report = DailyReportPayload(
                id=uuid.uuid4().hex, seq=1000 + day, ts=datetime(2026, 11, day, 17, tzinfo=UTC),
                cabinet_id=cabinet, day=date(2026, 11, day).isoformat(), timezone="Asia/Shanghai",
                excluded_causes=["power_supply", "network_carrier"],
                devices=[_line(cabinet, device, day) for device in devices],  # type: ignore[misc]  # an untyped third-party base or a dynamic call
            )  # fmt: skip
            messages.append(Incoming(topics.report_daily, report.model_dump_json().encode(), 0))
    return messages + _link_states()


def _link_states() -> list[Incoming]:
    messages, seq = [], 1
    for cabinet, start, end in LINK_OUTAGES:
        for state, cause, since in (("offline", "network_carrier", start), ("ok", None, end)):
            payload = DeviceStatePayload(
                id=uuid.uuid4().hex, seq=seq, ts=since + timedelta(seconds=1), device_id="uplink",
                kind="link", name=None, state=state, since=since, cause=cause, reason="", faults=[],  # type: ignore[arg-type]  # a test double or a deliberately wrong value
            )  # fmt: skip
            messages.append(
                Incoming(
                    Topics("edge", cabinet).device_state("uplink"), payload.model_dump_json().encode(), 0
                )
            )
            seq += 1
    return messages


def _reports(tmp_path: Path) -> dict[str, MonthReport]:
    store = Store.open(tmp_path / "fleet.sqlite")
    stats = Ingestor(store, "edge").ingest(_messages())
    assert stats.invalid == 0
    contracts = example_contracts()
    return {c.name: month_report(store, "2026-11", c, today=date(2026, 12, 5)) for c in contracts}


def _rates(report: MonthReport) -> dict[str, Fraction | None]:
    return {f"{d.cabinet_id}/{d.device_id}": d.rate for d in report.devices}


def test_traffic_each_device_at_95_percent_power_and_carrier_excluded(tmp_path: Path) -> None:
    traffic = _reports(tmp_path)["traffic"]
    assert _rates(traffic) == {
        "cab-a/radar": Fraction(MONTH - 10_800, MONTH - 7200),  # the power cut is excluded
        "cab-a/cam-lane-1": Fraction(MONTH - 136_400, MONTH),  # 94.74 %: under
        "cab-b/radar": Fraction(1),  # a day of unknown counts online
    }
    assert [d.device_id for d in traffic.under_threshold] == ["cam-lane-1"]
    assert traffic.penalty is not None and traffic.penalty.amount == Decimal(2000)
    assert next(d for d in traffic.devices if d.device_id == "cam-lane-1").replace_recommended == {
        "sd_missing"
    }


def test_video_pooled_98_percent_each_percent_short_costs_the_offline_cameras_fee(tmp_path: Path) -> None:
    video = _reports(tmp_path)["video"]
    cam_1 = next(d for d in video.devices if d.device_id == "cam-1")
    assert (cam_1.days_missing, cam_1.state_s["unknown"]) == (3, 3 * DAY)
    online = (MONTH - 136_400) + (MONTH - 96_400) + (MONTH - 20_000)
    assert video.pool_rate == Fraction(online, 3 * MONTH - DAY) == Fraction(7_523_200, 7_689_600)  # 97.836 %
    # 0.164 % short -> 1 step (ceil) x 3 cameras with counted offline time x 300
    assert video.penalty is not None and (video.penalty.amount, video.penalty.units) == (Decimal(900), 3)


def test_carrier_links_outages_and_repair_times(tmp_path: Path) -> None:
    carrier = _reports(tmp_path)["carrier"]
    assert _rates(carrier) == {
        "cab-a/uplink": Fraction(MONTH - 21_600, MONTH),
        # the power cut is not the carrier's; the 3 days without report are nobody's (unknown: excluded)
        "cab-b/uplink": Fraction(MONTH - 3 * DAY - 28_800, MONTH - 3 * DAY - 7200),
    }
    assert [(o.cabinet_id, o.repair_s) for o in carrier.outages] == [
        ("cab-a", 18_000.0), ("cab-a", 3600.0), ("cab-b", 21_600.0),
    ]  # fmt: skip
    assert carrier.penalty is not None and carrier.penalty.amount == Decimal(1000)  # 2 over 4 h x 500


def test_renders_table_csv_and_printable_html_in_both_languages(tmp_path: Path) -> None:
    reports = list(_reports(tmp_path).values())
    assert "94.738 %" in render(reports, "table", "en")
    table = render(reports, "csv", "en")
    assert "cab-a,cam-lane-1" in table
    video_sites = [row for row in table.splitlines() if row.startswith("video,2026-11,") and ",site," in row]
    north = (MONTH - 136_400 + MONTH - 96_400) / (MONTH + MONTH - DAY)  # cam-lane-1 + cam-panorama
    south = (MONTH - 20_000) / MONTH  # cam-1
    assert video_sites == [
        f"video,2026-11,north/gate,,,site,{north:.6f},,,,",
        f"video,2026-11,south/bridge,,,site,{south:.6f},,,,",
    ]
    page = render(reports, "html", "zh-CN")
    assert '<html lang="zh-CN">' in page and "未达标设备" in page and 'class="under"' in page
    assert len(reports[0].ledger) == 57  # 30 days of cab-a + 27 of cab-b
