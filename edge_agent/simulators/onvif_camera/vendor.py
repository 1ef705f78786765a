"""The vendors' SD-card status APIs, as the simulated camera's web server answers them."""

from __future__ import annotations

from edge_agent.simulators.onvif_camera.states import CameraState

MIB = 2**20
KIB = 2**10

# vendor -> the path its storage API lives at (the agent asks the one matching Manufacturer).
PATHS = {
    "hikvision": "/ISAPI/ContentMgmt/Storage",
    "dahua": "/cgi-bin/storageDevice.cgi",
    "axis": "/axis-cgi/disks/list.cgi",
}


def hikvision(state: CameraState) -> tuple[str, str]:
    if state.card == "missing":
        disks = '<hddList size="0"></hddList>'
    else:
        disks = (
            '<hddList size="1"><hdd version="2.0"><id>1</id><hddName>hdd1</hddName><hddType>SD</hddType>'
            f"<status>{state.card}</status><capacity>{state.card_capacity_bytes // MIB}</capacity>"
            f"<freeSpace>{state.card_free_bytes // MIB}</freeSpace><property>RW</property></hdd></hddList>"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<storage version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">{disks}'
        '<nasList size="0"></nasList></storage>'
    )
    return body, "application/xml"


def dahua(state: CameraState) -> tuple[str, str]:
    if state.card == "missing":
        return "", "text/plain"
    dahua_state = {"ok": "Success", "unformatted": "Unformatted", "error": "Error"}[state.card]
    used = state.card_capacity_bytes - state.card_free_bytes
    lines = [
        f"list.info[0].Detail[0].IsError={'true' if state.card == 'error' else 'false'}",
        "list.info[0].Detail[0].Path=/mnt/sd",
        f"list.info[0].Detail[0].TotalBytes={state.card_capacity_bytes:.6f}",
        "list.info[0].Detail[0].Type=ReadWrite",
        f"list.info[0].Detail[0].UsedBytes={used:.6f}",
        "list.info[0].Name=/dev/mmc0",
        f"list.info[0].State={dahua_state}",
    ]
    return "\r\n".join(lines) + "\r\n", "text/plain"


def axis(state: CameraState) -> tuple[str, str]:
    status = {"ok": "OK", "missing": "disconnected", "unformatted": "unformatted", "error": "failed"}[
        state.card
    ]
    full = "yes" if state.card_free_bytes == 0 and state.card == "ok" else "no"
    body = (
        '<?xml version="1.0"?>\n<root version="1.0"><disks numberofdisks="1">'
        f'<disk diskid="SD_DISK" name="" totalsize="{state.card_capacity_bytes // KIB}" '
        f'freesize="{state.card_free_bytes // KIB}" cleanuplevel="90" full="{full}" readonly="no" '
        f'status="{status}" filesystem="ext4" group="S0"/></disks></root>'
    )
    return body, "text/xml"


RENDER = {"hikvision": hikvision, "dahua": dahua, "axis": axis}
