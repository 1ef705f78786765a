"""edge-agent: watches the hardware of a roadside camera cabinet and reports to a central broker."""

# Read by pyproject.toml at build time; a literal here spares the agent importlib.metadata (~0.8 MB RSS).
__version__ = "0.1.0"
