"""Camera firmware upgrade: the phases of firmware_hooks/README.md (pre, apply, post, rollback)
for one ONVIF camera, the sequence that runs them for one camera, and the batch orchestrator.

One implementation: the MQTT commands `camera_firmware_upgrade` / `camera_firmware_batch` call it
in the agent, and `python -m edge_agent.firmware <phase>` runs one phase by the hook contract
(environment in, JSON Lines out, exit code).
"""
