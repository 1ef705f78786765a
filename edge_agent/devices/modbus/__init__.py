"""Modbus devices (RTU on RS-485, TCP) described by declarative profiles."""

from edge_agent.devices.base import DeviceKind
from edge_agent.devices.modbus.config import ModbusConfig

KIND = DeviceKind(
    type="modbus", config_model=ModbusConfig, poller_path="edge_agent.devices.modbus.poller:ModbusPoller"
)
