#!/usr/bin/env python3
"""Camera firmware: roll back where a vendor variant can; else exit 3, fault manual_recovery_needed."""

import _phase

_phase.run("rollback")
