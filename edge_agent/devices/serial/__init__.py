"""Serial devices: speed radars (streamed frames) and illuminators (request / reply)."""

from edge_agent.devices.base import DeviceKind
from edge_agent.devices.serial.config import SerialConfig

KIND = DeviceKind(
    type="serial", config_model=SerialConfig, poller_path="edge_agent.devices.serial.poller:SerialPoller"
)
