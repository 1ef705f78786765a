"""The cabinet's network: uplink (gateway, central broker) and cabinet LAN switch, by TCP connect."""

from edge_agent.devices.base import DeviceKind
from edge_agent.devices.link.config import LinkConfig

# Every value name the probe publishes (gateway_rtt_ms only with a gateway, lan_up and
# switch_rtt_ms only with a LAN switch). The page's uplink tile shows exactly these.
VALUE_NAMES = ("uplink_up", "broker_rtt_ms", "gateway_rtt_ms", "loss_percent", "lan_up", "switch_rtt_ms")

KIND = DeviceKind(
    type="link", config_model=LinkConfig, poller_path="edge_agent.devices.link.poller:LinkPoller"
)
