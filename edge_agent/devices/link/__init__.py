"""The cabinet's network: uplink (gateway, central broker) and cabinet LAN switch, by TCP connect."""

from edge_agent.devices.base import DeviceKind
from edge_agent.devices.link.config import LinkConfig

KIND = DeviceKind(
    type="link", config_model=LinkConfig, poller_path="edge_agent.devices.link.poller:LinkPoller"
)
