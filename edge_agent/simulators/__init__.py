"""Simulated cabinet devices for demos, tests and dry runs. Never imported by the agent process."""
