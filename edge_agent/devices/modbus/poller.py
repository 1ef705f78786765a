"""Polls one Modbus device: planned reads through the shared bus, decode, health rules.

A timeout ends the poll at once (the slave is likely dead: do not spend the bus on its other
reads). Exception replies and garbled frames are counted and only lose that read's values; the
poll fails only when nothing at all was read.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from edge_agent.devices.base import DeviceContext, Poller
from edge_agent.devices.modbus.bus import ModbusBus
from edge_agent.devices.modbus.codec import BlockDecoder, decode
from edge_agent.devices.modbus.config import ModbusConfig, RtuTransport
from edge_agent.devices.modbus.planner import ReadRequest, plan
from edge_agent.devices.modbus.profile import BIT_FUNCTIONS
from edge_agent.devices.modbus.rules import RuleEngine
from edge_agent.errors import (
    BusError,
    BusTimeout,
    BusUnavailable,
    DecodeError,
    DeviceProtocolError,
    DeviceTimeout,
    DeviceUnreachable,
)
from edge_agent.readings import Cause, PollResult, Value


class ModbusPoller(Poller[ModbusConfig]):
    def __init__(self, config: ModbusConfig, context: DeviceContext) -> None:
        super().__init__(config, context)
        values = config.values()
        self.requests: list[ReadRequest] = plan(
            values,
            max_registers=config.effective("max_registers_per_request"),
            max_bits=config.resolved_profile.max_bits_per_request,
            max_gap=config.effective("max_gap_registers"),
        )
        # One precompiled struct format per register read (bit reads decode value by value).
        self._decoders = [
            None if r.function in BIT_FUNCTIONS else BlockDecoder(r.address, r.count, r.values)
            for r in self.requests
        ]
        self.units = {v.name: v.unit for v in values if v.unit}
        self.rules = RuleEngine(config.rules())
        self.errors: Counter[str] = Counter()
        self.requests_total = 0
        self._delay_s = config.effective("inter_frame_delay_ms") / 1000
        self._bus: ModbusBus | None = None
        self._last_error = ""

    async def open(self) -> None:
        key = self.config.transport.bus_key()

        async def create() -> ModbusBus:
            return ModbusBus(self.config)

        self._bus = await self.context.shared.acquire(key, create)

    async def close(self) -> None:
        if self._bus is not None:
            self._bus = None
            await self.context.shared.release(self.config.transport.bus_key())

    async def poll(self) -> PollResult:
        values: dict[str, Value] = {}
        answered = 0
        for request, decoder in zip(self.requests, self._decoders, strict=True):
            words = await self._read(request)
            if words is None:
                continue
            answered += 1
            values.update(self._decode(request, decoder, words))
        if not answered:
            raise DeviceProtocolError(f"no read answered: {self._last_error}")
        outcome = self.rules.evaluate(values, time.monotonic())
        values["modbus_errors_total"] = sum(self.errors.values())
        return PollResult(
            values=values,
            units=self.units,
            faults=outcome.faults,
            events=outcome.events,
            diagnostics=self._diagnostics(),
        )

    async def _read(self, request: ReadRequest) -> list[int] | list[bool] | None:
        assert self._bus is not None, "open() was not called"
        self.requests_total += 1
        try:
            return await self._bus.read(
                self.config.unit_id,
                request.function,
                request.address,
                request.count,
                inter_frame_delay_s=self._delay_s,
            )
        except BusUnavailable as exc:
            self._count(exc)
            cause: Cause = "cabinet" if isinstance(self.config.transport, RtuTransport) else "device"
            raise DeviceUnreachable(str(exc), cause=cause) from exc
        except BusTimeout as exc:
            self._count(exc)
            raise DeviceTimeout(f"unit {self.config.unit_id}: {exc}") from exc
        except BusError as exc:
            self._count(exc)
            return None

    def _decode(
        self, request: ReadRequest, decoder: BlockDecoder | None, words: list[int] | list[bool]
    ) -> dict[str, Value]:
        if decoder is not None and len(words) == decoder.count:
            return decoder.decode(words)
        out: dict[str, Value] = {}
        for value in request.values:
            try:
                out.update(decode(value, request.words_of(value, words)))
            except DecodeError as exc:
                self._count_kind("decode_error", str(exc))
        return out

    def _count(self, exc: BusError) -> None:
        self._count_kind(exc.kind, str(exc))

    def _count_kind(self, kind: str, message: str) -> None:
        self.errors[kind] += 1
        self._last_error = f"{kind}: {message}"

    def _diagnostics(self) -> dict[str, Any]:
        return {
            "requests_per_cycle": len(self.requests),
            "requests_total": self.requests_total,
            "errors": dict(self.errors),
            "last_error": self._last_error,
            "bus_transactions_total": self._bus.stats.transactions if self._bus else 0,
            "bus_busy_s": round(self._bus.stats.busy_s, 3) if self._bus else 0.0,
        }
