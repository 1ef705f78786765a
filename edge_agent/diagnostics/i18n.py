"""The page's words in Simplified Chinese and English, and how a request picks its language."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh-CN", "en"]
LANGS: tuple[Lang, ...] = ("zh-CN", "en")
LANG_COOKIE = "edge_lang"

# key: (zh-CN, en)
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("机柜诊断", "Cabinet diagnostics"),
    "nav.overview": ("总览", "Overview"),
    "nav.reports": ("巡检报告", "Reports"),
    "nav.actions": ("操作", "Actions"),
    "nav.logs": ("日志", "Logs"),
    "logout": ("退出", "Log out"),
    "switch": ("English", "中文"),
    "theme.night": ("夜间模式", "Night"),
    "theme.day": ("白天模式", "Day"),
    "login.title": ("登录", "Log in"),
    "login.user": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong user name or password"),
    "login.locked": ("尝试次数过多，请 {s} 秒后再试", "Too many attempts; try again in {s} s"),
    "login.stale": ("页面已过期，请重试", "The form expired; please try again"),
    "state.ok": ("正常", "OK"),
    "state.degraded": ("降级", "DEGRADED"),
    "state.fault": ("故障", "FAULT"),
    "state.offline": ("离线", "OFFLINE"),
    "state.unknown": ("未知", "UNKNOWN"),
    "cause.power_supply": ("市电停电", "mains power lost"),
    "cause.network_carrier": ("运营商链路中断", "carrier uplink down"),
    "cause.cabinet": ("机柜设备（空开/交换机/主机）", "cabinet (breaker, switch, host)"),
    "cause.device": ("设备本身", "the device itself"),
    "cause.maintenance": ("计划维护", "planned maintenance"),
    "cause.unknown": ("原因未知", "unknown cause"),
    "cabinet": ("机柜", "Cabinet"),
    "site": ("站点", "Site"),
    "agent": ("代理程序", "Agent"),
    "version": ("版本", "Version"),
    "uptime": ("运行时间", "Uptime"),
    "broker": ("中心链路 (MQTT)", "Centre link (MQTT)"),
    "connected": ("已连接", "connected"),
    "disconnected": ("未连接", "not connected"),
    "published": ("已发送消息", "messages sent"),
    "last_publish": ("最近发送", "last publish"),
    "outbox": ("待发送队列", "outbox"),
    "power": ("供电", "Power"),
    "environment": ("环境", "Environment"),
    "uplink": ("上联网络", "Uplink"),
    "devices": ("设备", "Devices"),
    "faults": ("故障", "Faults"),
    "no_faults": ("无活动故障", "No active faults"),
    "not_available": ("本机柜无此功能", "not available on this cabinet"),
    "since": ("自", "since"),
    "cause": ("原因", "cause"),
    "last_poll": ("最近采集", "last poll"),
    "live": ("实时", "live"),
    "stale": ("连接中断，正在重连…", "connection lost, reconnecting…"),
    "readings": ("实时读数", "Live readings"),
    "history": ("近期趋势", "Recent history"),
    "raw": ("原始诊断（专家）", "Raw diagnostics (expert)"),
    "polls": ("采集成功/失败", "polls ok / failed"),
    "back": ("返回总览", "Back to overview"),
    "actions": ("操作", "Actions"),
    "confirm": ("确认执行：{a} ？", "Run {a} now?"),
    "running": ("执行中…", "running…"),
    "result.ok": ("成功", "done"),
    "result.error": ("失败", "failed"),
    "action.power_cycle": ("断电重启", "Power-cycle"),
    "action.camera_reboot": ("重启相机", "Reboot camera"),
    "action.time_sync": ("校时", "Sync time"),
    "action.radar_reset": ("复位雷达", "Reset radar"),
    "action.maintenance_window": ("声明维护窗口", "Declare maintenance window"),
    "action.self_test": ("立即全面自检", "Run full self-test now"),
    "action.disabled": ("本机柜不支持", "not available on this cabinet"),
    "action.viewer": ("只读账号不能执行操作", "viewer accounts cannot run actions"),
    "minutes": ("分钟", "minutes"),
    "reason": ("说明", "reason"),
    "state": ("状态", "state"),
    "mw.reason": ("维护原因", "reason"),
    "role.technician": ("技术员", "technician"),
    "role.viewer": ("只读", "viewer"),
    "reports.daily": ("每日巡检报告", "Daily inspection reports"),
    "reports.snapshot": ("当前状态快照", "Current status snapshot"),
    "reports.print": ("打印", "Print"),
    "logs.agent": ("代理日志", "Agent log"),
    "logs.audit": ("审计日志", "Audit log"),
    "logs.filter": ("筛选", "Filter"),
    "logs.level": ("级别", "Level"),
    "logs.all": ("全部", "all"),
    "logs.empty": ("无记录", "no entries"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "ago": ("{x}前", "{x} ago"),
    "kind": ("类型", "kind"),
    "device": ("设备", "device"),
    "value": ("数值", "value"),
    "time": ("时间", "time"),
    "message": ("内容", "message"),
    "operator": ("操作人", "operator"),
    "result": ("结果", "result"),
    "target": ("对象", "target"),
    "cabinet_actions": ("机柜操作", "Cabinet actions"),
    "device_actions": ("设备操作", "Device actions"),
    "choose_device": ("选择设备", "Device"),
    "open": ("详情", "details"),
    "download": ("下载", "Download"),
    # Readings: names as devices report them -> words for people (unknown names are shown as is).
    "v.mains_present": ("市电", "mains present"),
    "v.voltage_v": ("电压", "voltage"),
    "v.voltage_l1_v": ("L1 电压", "voltage L1"),
    "v.voltage_l2_v": ("L2 电压", "voltage L2"),
    "v.voltage_l3_v": ("L3 电压", "voltage L3"),
    "v.frequency_hz": ("频率", "frequency"),
    "v.on_battery": ("UPS 电池供电", "on battery"),
    "v.battery_percent": ("UPS 电量", "battery"),
    "v.runtime_min": ("UPS 剩余时间", "battery runtime"),
    "v.cabinet_temperature_c": ("柜内温度", "cabinet temperature"),
    "v.temperature_c": ("温度", "temperature"),
    "v.humidity_percent": ("湿度", "humidity"),
    "v.door_open": ("柜门打开", "door open"),
    "v.uplink_ok": ("上联正常", "uplink up"),
    "v.uplink_rtt_ms": ("上联时延", "uplink round trip"),
    "v.uplink_loss_percent": ("上联丢包", "uplink loss"),
    "v.gateway_reachable": ("网关可达", "gateway reachable"),
    "v.centre_reachable": ("中心可达", "centre reachable"),
    "v.cpu_percent": ("CPU 使用率", "CPU"),
    "v.memory_percent": ("内存使用率", "memory"),
    "v.memory_available_bytes": ("可用内存", "memory available"),
    "v.disk_percent": ("磁盘使用率", "disk"),
    "v.disk_free_bytes": ("磁盘剩余", "disk free"),
    "v.cpu_temperature_c": ("CPU 温度", "CPU temperature"),
    "v.uptime_s": ("开机时长", "up time"),
    "v.agent_rss_bytes": ("代理内存", "agent memory"),
    "v.load_1m": ("1 分钟负载", "load (1 min)"),
    "v.outbox_depth": ("待发送消息", "outbox messages"),
    "v.outbox_bytes": ("待发送字节", "outbox bytes"),
    "device.missing": ("没有这个设备", "No such device"),
}


def words(lang: Lang) -> dict[str, str]:
    index = LANGS.index(lang)
    return {key: pair[index] for key, pair in _WORDS.items()}


def choose(cookie: str | None, accept_language: str | None, default: Lang) -> Lang:
    """The switch (cookie) wins, then the browser's first zh/en preference, then the cabinet's default."""
    if cookie in LANGS:
        return cookie
    for part in (accept_language or "").split(",")[:8]:
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default
