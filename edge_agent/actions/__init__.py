"""Local hardware actions of the cabinet: relay power-cycles, the door switch, auto-recovery.

Every action is guarded (configured, enabled, operator named), rate-limited, confirmed (its
result is the reply) and audited. GPIO goes through gpiozero (its mock pin factory in tests,
`GPIOZERO_PIN_FACTORY=mock`); a cabinet PC without GPIO drives a Modbus TCP relay module
instead, behind the same `Relay` interface.
"""
