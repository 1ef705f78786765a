"""Bytes per cabinet per day on the uplink, the demo cabinet with report-by-exception on and off.

On: the demo as shipped (deadbands, full refresh every 60-300 s). Off: every value of every poll
is sent (no deadband, a full refresh at each poll), what a plain poll-and-publish loop sends.
Payload + topic bytes as a subscriber receives them; MQTT/TCP overhead not counted.

    .venv/bin/python benchmarks/uplink_bytes.py [--warm-up 190] [--seconds 120]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from demo_cabinet import measure
from table import emit


def _without_rbe(config: Path) -> None:
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    for device in document["devices"]:
        device["telemetry"] = {"deadband": {}, "full_refresh_s": device.get("poll_interval_s", 10)}
    config.write_text(yaml.safe_dump(document), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--warm-up", type=float, default=190, help="s before counting (scripted faults end at 180)"
    )
    parser.add_argument("--seconds", type=float, default=120)
    args = parser.parse_args()
    for label, edit in (("on", None), ("off", _without_rbe)):
        figures = measure(args.warm_up, args.seconds, edit)
        total = sum(figures["bytes_per_day"].values())
        note = f"{figures['messages_per_day']:.0f} messages/day; {args.seconds:.0f} s sample; goal <= 5 MB"
        emit(f"uplink bytes/day, demo cabinet, report-by-exception {label}", f"{total / 1e6:.2f} MB", note)


if __name__ == "__main__":
    main()
