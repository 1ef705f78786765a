"""The running agent: the composition root and what it supervises (device runners, the emitter,
the durable outbox, the liveness file, systemd readiness). Parts outside this package never import
it; they receive narrow typed handles from the root."""
