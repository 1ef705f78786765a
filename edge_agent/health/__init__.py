"""Health: turns poll outcomes into device states, faults and the changes worth reporting, and
the cabinet intelligence built on them (docs/health.md).

tracker      device state machine (per poll)
attribution  why a device or the cabinet is out (power, carrier, cabinet, device, maintenance)
ledger       per-day seconds by state and cause (SQLite), fault log, maintenance windows, heartbeat
recovery     the dead window found at start-up
rate         online rate per contract rule
repeat       repeat-fault rule (replace_recommended)
report       daily inspection report, on disk as JSON and CSV
core         all of the above in one clock-free object (the scripted-month tests drive it)
service      the agent's side: feeds `core` from the device loops on one worker thread
"""
