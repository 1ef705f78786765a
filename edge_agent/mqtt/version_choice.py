"""Which MQTT version the next CONNECT speaks.

`protocol: auto`: MQTT 5 first. A 3.1.1-only broker may refuse 5 with a return code, or never
answer it (it misreads the CONNECT and waits, or closes the connection): both switch to the other
version. The version a broker accepted is remembered (`ProtocolMemory`), so a connection that
fails without CONNACK once does not demote a broker already known to speak 5.
"""

from __future__ import annotations

import logging
from typing import Literal

from paho.mqtt.enums import MQTTProtocolVersion

from edge_agent.mqtt.protocol_memory import ProtocolMemory

log = logging.getLogger(__name__)

V5, V311 = MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311
UNSUPPORTED_PROTOCOL = (132, 1)  # MQTT 5 "Unsupported Protocol Version"; 3.1.1 CONNACK return code 1
# Connections that got no CONNACK before the version is switched: one while the broker's version is
# unknown, more once it accepted this version (a broker restarting also drops connections unanswered).
SILENT_TRIES_UNKNOWN = 1
SILENT_TRIES_CONFIRMED = 3


class VersionChoice:
    def __init__(self, setting: Literal["auto", "5", "3.1.1"], memory: ProtocolMemory) -> None:
        self._auto = setting == "auto"
        self._memory = memory
        self._confirmed = memory.recall() if self._auto else None
        self.current: MQTTProtocolVersion = self._confirmed or (V311 if setting == "3.1.1" else V5)
        self._silent_failures = 0  # consecutive connections without CONNACK

    def answered(self, code: int) -> bool:
        """A CONNACK came with `code`; True when it refused our version and the other one is next."""
        self._silent_failures = 0
        if code in UNSUPPORTED_PROTOCOL and self._auto and self.current == V5:
            log.info("broker does not speak MQTT 5; falling back to 3.1.1")
            self.current = V311
            return True
        return False

    def unanswered(self) -> None:
        """The CONNECT was sent and no CONNACK came."""
        if not self._auto:
            return
        self._silent_failures += 1
        limit = SILENT_TRIES_CONFIRMED if self.current == self._confirmed else SILENT_TRIES_UNKNOWN
        if self._silent_failures >= limit:
            self._silent_failures = 0
            self.current = V311 if self.current == V5 else V5
            log.info("no CONNACK to the CONNECT; trying MQTT %s", name(self.current))

    def accepted(self) -> None:
        """The broker accepted the current version: remember it for the next start."""
        if self._auto and self._confirmed != self.current:
            self._confirmed = self.current
            self._memory.store(self.current)


def name(protocol: MQTTProtocolVersion) -> str:
    return "5" if protocol == V5 else "3.1.1"
