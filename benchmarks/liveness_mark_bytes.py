"""Bytes the liveness mark really writes to the storage device, per day.

    sudo python benchmarks/liveness_mark_bytes.py [--seconds 60] [--interval 4]

Makes a small ext4 file system on a loop device (as on the cabinet's SD card), runs the agent's
own `Ledger.heartbeat` at the configured interval for `--seconds` of real time (the ext4 journal
commits every 5 s, so time must really pass), and reads the sectors the block device wrote from
/sys/block/<loop>/stat. Printed: writes, bytes per mark and bytes per day, per set of mount
options (`commit=60`: the journal commits every 60 s instead of 5 s). Needs root (mount).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.health.ledger import Ledger

SECTOR = 512


@contextlib.contextmanager
def ext4(options: str) -> Iterator[tuple[Path, str]]:
    with tempfile.TemporaryDirectory(prefix="ea-mark-") as work:
        image, mount = Path(work) / "sd.img", Path(work) / "mnt"
        mount.mkdir()
        subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-b", "4096", str(image)], check=True)  # as on a card
        loop = subprocess.run(
            ["losetup", "--find", "--show", str(image)], check=True, capture_output=True, text=True
        ).stdout.strip()
        try:
            subprocess.run(["mount", "-o", options, loop, str(mount)], check=True)
            try:
                yield mount, Path(loop).name
            finally:
                subprocess.run(["umount", str(mount)], check=True)
        finally:
            subprocess.run(["losetup", "-d", loop], check=True)


def written_bytes(device: str) -> int:
    fields = Path(f"/sys/block/{device}/stat").read_text().split()
    return int(fields[6]) * SECTOR  # sectors written


def measure(options: str, seconds: float, interval_s: float) -> tuple[int, int]:
    with ext4(options) as (mount, device):
        ledger = Ledger(mount / "ledger.sqlite3", ZoneInfo("UTC"))
        ledger.heartbeat(time.time(), "bench")
        subprocess.run(["sync"], check=True)
        time.sleep(6)  # let the journal settle before counting
        before, marks = written_bytes(device), 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ledger.heartbeat(time.time(), "bench")
            marks += 1
            time.sleep(interval_s)
        written = written_bytes(device) - before
        ledger.close()
        return marks, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--interval", type=float, default=4.0)
    parser.add_argument(
        "--options", nargs="+", default=["defaults", "lazytime", "noatime,lazytime,commit=60"],
        help="mount options to compare",
    )  # fmt: skip
    args = parser.parse_args()
    per_day = 86400 / args.interval
    for options in args.options:
        marks, written = measure(options, args.seconds, args.interval)
        per_mark = written / marks
        print(
            f"ext4 {options:27}: {marks} marks every {args.interval:g} s wrote {written} bytes:"
            f" {per_mark:.0f} bytes a mark, {per_mark * per_day / 1e6:.1f} MB a day"
            f" ({per_day:.0f} marks)"
        )


if __name__ == "__main__":
    main()
