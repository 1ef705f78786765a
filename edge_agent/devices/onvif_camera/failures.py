"""Why a camera request failed, as one stable code, and what that means for the device.

tcp_refused    connection refused (camera booting, service down)     -> DeviceUnreachable
connect_error  no route, DNS, reset before the answer                -> DeviceUnreachable
timeout        no answer in time (hung camera, lost link)            -> DeviceTimeout
tls_error      TLS handshake failed                                  -> DeviceProtocolError
http_error     an HTTP error status without a SOAP answer            -> DeviceProtocolError
soap_fault     a SOAP fault other than NotAuthorized                 -> DeviceProtocolError
bad_xml        malformed, DTD / entity laden or unexpected answer    -> DeviceProtocolError
too_large      answer larger than `max_response_bytes`               -> DeviceProtocolError
auth_failed    NotAuthorized / HTTP 401: bad credentials             -> a fault, not an outage
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Iterator

import aiohttp

from edge_agent.devices.onvif_camera.soap_stack import zeep
from edge_agent.errors import (
    AuthFailed,
    CodecError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    DeviceUnreachable,
    HttpStatusError,
    ResponseTooLarge,
)

# Every code `classify` returns but `error` (unclassified): each has a fault-catalogue entry.
FAILURE_CODES = (
    "tcp_refused",
    "connect_error",
    "timeout",
    "tls_error",
    "http_error",
    "soap_fault",
    "bad_xml",
    "too_large",
    "auth_failed",
)
MESSAGE_CHARS = 200  # camera texts are bounded before they reach logs and payloads


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _code_of(exc: BaseException) -> str | None:
    match exc:
        case AuthFailed():
            return "auth_failed"
        case HttpStatusError(status=401) | zeep.exceptions.TransportError(status_code=401):
            return "auth_failed"
        case zeep.exceptions.Fault():
            return "auth_failed" if _not_authorized(exc) else "soap_fault"
        case ResponseTooLarge():
            return "too_large"
        case HttpStatusError() | zeep.exceptions.TransportError():
            return "bad_xml" if "invalid XML" in str(exc) else "http_error"
        case (
            zeep.exceptions.XMLSyntaxError()
            | zeep.exceptions.DTDForbidden()
            | zeep.exceptions.EntitiesForbidden()
        ):
            return "bad_xml"
        case zeep.exceptions.ExternalReferenceForbidden() | zeep.exceptions.XMLParseError() | CodecError():
            return "bad_xml"
        case aiohttp.ClientSSLError() | ssl.SSLError():
            return "tls_error"
        case aiohttp.ClientConnectorError():
            return "tcp_refused" if exc.os_error.errno == errno.ECONNREFUSED else "connect_error"
        case ConnectionRefusedError():
            return "tcp_refused"
        case TimeoutError() | aiohttp.ServerTimeoutError():
            return "timeout"
        case aiohttp.ClientError() | ConnectionError():
            return "connect_error"
    return None


def _not_authorized(fault: zeep.exceptions.Fault) -> bool:
    names = [str(fault.code or "")] + [str(getattr(code, "localname", code)) for code in fault.subcodes or []]
    return any("NotAuthorized" in name for name in names) or "not authorized" in str(fault.message).lower()


def classify(exc: BaseException) -> str:
    """The failure code of an exception raised while talking to a camera (`bad_xml` when unsure:
    the library raises assorted errors on garbage it half-parsed)."""
    for link in _chain(exc):
        code = _code_of(link)
        if code is not None:
            return code
    return "bad_xml" if isinstance(exc, AttributeError | TypeError | ValueError | LookupError) else "error"


def describe(code: str, exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return f"{code}: {type(exc).__name__}: {text[:MESSAGE_CHARS]}"


def device_error(code: str, exc: BaseException) -> DeviceError:
    """The runner-facing error for a failed reachability probe."""
    message = describe(code, exc)
    known = code if code in FAILURE_CODES else None
    if code == "timeout":
        return DeviceTimeout(message)
    if code in ("tcp_refused", "connect_error"):
        return DeviceUnreachable(message, code=known)
    return DeviceProtocolError(message, code=known)
