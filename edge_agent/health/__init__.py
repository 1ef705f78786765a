"""Health: turns poll outcomes into device states, faults and the changes worth reporting."""
