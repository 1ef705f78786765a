"""zeep and onvif-zeep-async, imported without what the agent never runs of them (RSS, issue 16).

Every module of the camera kind takes zeep and onvif from here, so the first import of the stack is
this one. zeep imports requests (its synchronous transport: onvif reads its bundled WSDL files
through it) and httpx (onvif's aiohttp transport hands zeep httpx responses). Two things those
bring along are never used by the agent and are kept out while the stack is imported:
- httpx's command-line client (`httpx._main`): it loads rich, click and pygments whenever they
  are installed (a development venv has them; 4.6 MB);
- requests' character-set guessing (charset_normalizer, or chardet): only `Response.text` of an
  answer without a declared charset uses it, and the agent sends no request with requests (2.6 MB).
Both libraries handle their absence (httpx: no `httpx` command; requests: a warning, silenced
here, and utf-8 for undeclared charsets). They are absent only during this import: a module
imported later (a tool, a test) may still load them.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator

_UNUSED = ("httpx._main", "charset_normalizer", "chardet")


@contextlib.contextmanager
def _absent(names: tuple[str, ...]) -> Iterator[None]:
    """`import name` raises ImportError within the block (unless it is loaded already)."""
    added = [name for name in names if name not in sys.modules]
    for name in added:
        sys.modules[name] = None  # type: ignore[assignment]  # None in sys.modules is how Python marks a module absent
    try:
        yield
    finally:
        for name in added:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


with _absent(_UNUSED), warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Unable to find acceptable character detection")
    import onvif.client
    import onvif.settings
    import zeep.exceptions
    from onvif import ONVIFCamera
    from onvif.client import _WSDL_PATH as WSDL_PATH
    from onvif.client import AsyncTransportProtocolErrorHandler, ONVIFService
    from onvif.definition import SERVICES

__all__ = [
    "SERVICES",
    "WSDL_PATH",
    "AsyncTransportProtocolErrorHandler",
    "ONVIFCamera",
    "ONVIFService",
    "onvif",
    "zeep",
]
