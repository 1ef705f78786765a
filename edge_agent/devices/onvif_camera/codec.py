"""Pure parsing of camera answers: vendor SD-card APIs and ONVIF values. No IO here.

Every input is hostile: a DOCTYPE or entity declaration is refused before lxml sees it, and the
parser never resolves entities, loads DTDs or touches the network.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from lxml import etree

from edge_agent.errors import CodecError

CardState = Literal["ok", "missing", "unformatted", "error"]
MIB = 2**20
KIB = 2**10
# Card sizes sold, in GB (10^9 bytes). A card's usable size is below its label (filesystem,
# GiB vs GB), so a reading is judged by the smallest label that can hold it.
NOMINAL_SIZES_GB = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
_OVER_LABEL = 1.02  # tolerance for cards that report a hair above their label


@dataclass(frozen=True, slots=True)
class StorageStatus:
    """One SD card as the vendor API describes it."""

    state: CardState
    capacity_bytes: int = 0
    free_bytes: int = 0

    @property
    def used_percent(self) -> float | None:
        if self.capacity_bytes <= 0:
            return None
        return round(100.0 * (self.capacity_bytes - self.free_bytes) / self.capacity_bytes, 2)


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML; DTDs and entities are refused outright."""
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise CodecError("XML with a DTD or entity declarations refused")
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise CodecError(f"malformed XML: {exc}") from exc
    if root is None:
        raise CodecError("empty XML document")
    return root


def _local(root: etree._Element, name: str) -> list[etree._Element]:
    return [node for node in root.iter() if isinstance(node.tag, str) and etree.QName(node).localname == name]


def _child_text(node: etree._Element, name: str) -> str | None:
    for child in node:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip()
    return None


def _number(text: str | None, what: str) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise CodecError(f"{what}: not a number ({(text or '')[:32]!r})") from None
    if not math.isfinite(value) or value < 0 or value > 2**62:
        raise CodecError(f"{what}: out of range")
    return value


def parse_hikvision(data: bytes) -> StorageStatus:
    """`GET /ISAPI/ContentMgmt/Storage`: hddList/hdd with status, capacity and freeSpace in MB."""
    root = parse_xml(data)
    if etree.QName(root).localname != "storage":
        raise CodecError("not an ISAPI storage document")
    disks = _local(root, "hdd")
    if not disks:
        return StorageStatus("missing")
    disk = disks[0]
    status = (_child_text(disk, "status") or "").lower()
    capacity = int(_number(_child_text(disk, "capacity"), "capacity") * MIB)
    free = int(_number(_child_text(disk, "freeSpace"), "freeSpace") * MIB)
    state: CardState = (
        "ok"
        if status in ("ok", "idle")
        else "unformatted"
        if "unformat" in status or status == "uninitialized"
        else "error"
    )
    return StorageStatus(state, capacity, min(free, capacity))


_DAHUA_LINE = re.compile(r"^list\.info\[0\]\.(?:Detail\[0\]\.)?(\w+)=(.*)$")


def parse_dahua(data: bytes) -> StorageStatus:
    """`storageDevice.cgi?action=getDeviceAllInfo`: key=value lines (State, IsError, TotalBytes,
    UsedBytes)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CodecError("not UTF-8 text") from None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = _DAHUA_LINE.match(line.strip())
        if match:
            fields.setdefault(match.group(1), match.group(2).strip())
    if not fields:
        if text.strip() and not text.strip().lower().startswith("error"):
            raise CodecError("no storage fields in the answer")
        return StorageStatus("missing")
    total = int(_number(fields.get("TotalBytes", "0"), "TotalBytes"))
    used = int(_number(fields.get("UsedBytes", "0"), "UsedBytes"))
    state_text = fields.get("State", "").lower()
    state: CardState = (
        "ok" if state_text == "success" else "unformatted" if "unformat" in state_text else "error"
    )
    if fields.get("IsError", "false").lower() == "true":
        state = "error"
    return StorageStatus(state, total, max(total - used, 0))


def parse_axis(data: bytes) -> StorageStatus:
    """`/axis-cgi/disks/list.cgi?diskid=SD_DISK`: disk attributes status, totalsize, freesize (KB)."""
    root = parse_xml(data)
    disks = [disk for disk in _local(root, "disk") if disk.get("diskid", "SD_DISK") == "SD_DISK"]
    if not disks:
        return StorageStatus("missing")
    disk = disks[0]
    status = (disk.get("status") or "").lower()
    if status in ("disconnected", "absent"):
        return StorageStatus("missing")
    capacity = int(_number(disk.get("totalsize"), "totalsize") * KIB)
    free = int(_number(disk.get("freesize"), "freesize") * KIB)
    state: CardState = (
        "ok" if status in ("ok", "connected") else "unformatted" if "unformat" in status else "error"
    )
    return StorageStatus(state, capacity, min(free, capacity))


def nominal_size_gb(capacity_bytes: int) -> int | None:
    """The card's label size: the smallest size sold that can hold what the camera reports."""
    if capacity_bytes <= 0:
        return None
    for size in NOMINAL_SIZES_GB:
        if capacity_bytes <= size * 1e9 * _OVER_LABEL:
            return size
    return NOMINAL_SIZES_GB[-1]


def camera_utc(system_date_and_time: Any) -> datetime:
    """The camera's UTC clock from a GetSystemDateAndTime answer (to the second)."""
    try:
        utc = system_date_and_time.UTCDateTime
        date, time = utc.Date, utc.Time
        return datetime(date.Year, date.Month, date.Day, time.Hour, time.Minute, time.Second, tzinfo=UTC)
    except (AttributeError, TypeError, ValueError) as exc:
        raise CodecError(f"no usable UTCDateTime in GetSystemDateAndTime: {exc}") from exc


def strip_userinfo(uri: str) -> str:
    """A stream URI without any `user:password@` a camera may have embedded in it."""
    return re.sub(r"^(\w+://)[^/@]*@", r"\1", uri)


def as_utc(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise CodecError(f"{what}: not a date-time")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
