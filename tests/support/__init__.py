"""Helpers for integration tests that run real components (broker, PKI) on 127.0.0.1."""
