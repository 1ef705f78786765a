"""Simulated cabinet devices for the demo, the tests and dry runs. Never imported by the agent process."""
