#!/usr/bin/env python3
"""Camera firmware, after the upload: back in time on the expected version, streams and recording OK."""

import _phase

_phase.run("post")
