#!/usr/bin/env python3
"""Camera firmware, before anything is sent: image digest, camera healthy and reachable, mains present."""

import _phase

_phase.run("pre")
