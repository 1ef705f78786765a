#!/usr/bin/env python3
"""Camera firmware: ONVIF StartFirmwareUpgrade, then the image POSTed to the camera's upload URI."""

import _phase

_phase.run("apply")
