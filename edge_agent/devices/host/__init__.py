"""The agent's own host: CPU, memory, data disk, temperature, uptime, the agent's RSS and backlog."""

from edge_agent.devices.base import DeviceKind
from edge_agent.devices.host.config import HostConfig

KIND = DeviceKind(
    type="host", config_model=HostConfig, poller_path="edge_agent.devices.host.poller:HostPoller"
)
