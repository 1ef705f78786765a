"""`urllib.request` behind a stand-in until first read (edge_agent/lazy_urllib.py, RSS issue 16).

Each check runs in a fresh interpreter: the stand-in is process-wide."""

from __future__ import annotations

import os
import subprocess
import sys

PRELUDE = """
import sys, urllib
from edge_agent import lazy_urllib
assert lazy_urllib.defer()
"""


def _run(code: str) -> str:
    env = {**os.environ, "EDGE_AGENT_PLUGINS": ""}
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + code], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_paho_loads_neither_http_client_nor_email() -> None:
    code = (
        "import paho.mqtt.client\n"
        "assert sys.modules['urllib.request'] is lazy_urllib._STAND_IN\n"
        "print(sorted(m for m in sys.modules if m.startswith(('http', 'email'))))\n"
    )
    assert _run(code) == "[]"


def test_the_first_read_puts_the_real_module_everywhere() -> None:
    code = (
        "import urllib.request\n"
        "getproxies = urllib.request.getproxies\n"
        "real = sys.modules['urllib.request']\n"
        "assert real is not lazy_urllib._STAND_IN and urllib.request is real\n"
        "assert getproxies is real.getproxies\n"
        "from urllib.request import Request\n"
        "assert Request is real.Request\n"
        "assert lazy_urllib._STAND_IN.urlopen is real.urlopen  # a module that kept the stand-in\n"
        "assert not lazy_urllib.defer()  # the real one is there now\n"
        "import paho.mqtt.client as paho\n"
        "from paho.mqtt.enums import CallbackAPIVersion\n"
        "print(paho.Client(CallbackAPIVersion.VERSION2)._get_proxy())\n"
    )
    assert _run(code) == "None"


def test_threads_reading_at_once_get_the_same_module() -> None:
    code = (
        "import threading\n"
        "start, seen = threading.Barrier(8), []\n"
        "def read():\n"
        "    start.wait()\n"
        "    seen.append(lazy_urllib._STAND_IN.getproxies)\n"
        "threads = [threading.Thread(target=read) for _ in range(8)]\n"
        "for thread in threads: thread.start()\n"
        "for thread in threads: thread.join()\n"
        "print(len(seen), len({id(f) for f in seen}), seen[0] is sys.modules['urllib.request'].getproxies)\n"
    )
    assert _run(code) == "8 1 True"


def test_nothing_is_registered_when_the_real_module_is_loaded() -> None:
    check = "import urllib.request\nfrom edge_agent import lazy_urllib\nprint(lazy_urllib.defer())\n"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr
