"""ONVIF IP cameras: reachability, identity, clock, streams, SD card (vendor API) and local retention."""

from edge_agent.devices.base import DeviceKind
from edge_agent.devices.onvif_camera.config import OnvifCameraConfig

KIND = DeviceKind(
    type="onvif_camera",
    config_model=OnvifCameraConfig,
    poller_path="edge_agent.devices.onvif_camera.poller:OnvifCameraPoller",
)
