"""Simulated cabinet hardware for the demo, the tests and dry runs. Never imported by the agent."""
