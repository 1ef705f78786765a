"""SOAP envelopes the simulated camera reads and writes. Responses are plain templates; the
agent's zeep client validates them against the ONVIF WSDLs, so they follow the schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

from lxml import etree

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NAMESPACES = {
    "s": SOAP12,
    "tt": "http://www.onvif.org/ver10/schema",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "trc": "http://www.onvif.org/ver10/recording/wsdl",
    "tse": "http://www.onvif.org/ver10/search/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
}
_XMLNS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())

# A parser that never loads DTDs or entities: requests are hostile too.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_request(body: bytes) -> tuple[etree._Element, str] | None:
    """The envelope and the operation name (local name of the Body's first child), or None."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        return None
    try:
        envelope = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError:
        return None
    body_node = envelope.find(f"{{{SOAP12}}}Body")
    if body_node is None or len(body_node) == 0:
        return None
    return envelope, etree.QName(body_node[0]).localname


def envelope(body: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<s:Envelope {_XMLNS}><s:Body>{body}</s:Body></s:Envelope>'
    )


def fault(subcode: str, reason: str, code: str = "s:Sender") -> str:
    return envelope(
        f"<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">{escape(reason)}</s:Text></s:Reason>'
        "</s:Fault>"
    )


def not_authorized() -> str:
    return fault("ter:NotAuthorized", "Sender not Authorized")


def xsd_datetime(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def system_date_and_time(camera_now: datetime, ntp: bool) -> str:
    d = camera_now
    return envelope(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        f"<tt:DateTimeType>{'NTP' if ntp else 'Manual'}</tt:DateTimeType>"
        "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime><tt:Time><tt:Hour>{d.hour}</tt:Hour><tt:Minute>{d.minute}</tt:Minute>"
        f"<tt:Second>{d.second}</tt:Second></tt:Time><tt:Date><tt:Year>{d.year}</tt:Year>"
        f"<tt:Month>{d.month}</tt:Month><tt:Day>{d.day}</tt:Day></tt:Date></tt:UTCDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def services(base_url: str, profile_g: bool) -> str:
    entries = [("tds", "device_service"), ("trt", "media_service")]
    if profile_g:
        entries += [("trc", "recording_service"), ("tse", "search_service")]
    items = "".join(
        f"<tds:Service><tds:Namespace>{NAMESPACES[prefix]}</tds:Namespace>"
        f"<tds:XAddr>{base_url}/onvif/{path}</tds:XAddr>"
        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
        for prefix, path in entries
    )
    return envelope(f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>")


def requested_time(envelope: etree._Element) -> tuple[str | None, datetime | None]:
    """SetSystemDateAndTime's DateTimeType and, for a manual setting, the UTC time asked for."""
    kind = envelope.findtext(".//tds:DateTimeType", namespaces=NAMESPACES)
    utc = envelope.find(".//tds:UTCDateTime", namespaces=NAMESPACES)
    if utc is None:
        return kind, None
    year, month, day, hour, minute, second = (
        int(utc.findtext(f".//tt:{tag}", "0", namespaces=NAMESPACES))
        for tag in ("Year", "Month", "Day", "Hour", "Minute", "Second")
    )
    return kind, datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def device_information(manufacturer: str, model: str, firmware: str, serial: str) -> str:
    return envelope(
        "<tds:GetDeviceInformationResponse>"
        f"<tds:Manufacturer>{escape(manufacturer)}</tds:Manufacturer><tds:Model>{escape(model)}</tds:Model>"
        f"<tds:FirmwareVersion>{escape(firmware)}</tds:FirmwareVersion>"
        f"<tds:SerialNumber>{escape(serial)}</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def stream_uri(uri: str) -> str:
    return envelope(
        f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
        "</trt:MediaUri></trt:GetStreamUriResponse>"
    )


def recording_jobs() -> str:
    return envelope(
        "<trc:GetRecordingJobsResponse><trc:JobItem><tt:JobToken>RecordJob_1</tt:JobToken>"
        "<tt:JobConfiguration><tt:RecordingToken>Recording_1</tt:RecordingToken><tt:Mode>Active</tt:Mode>"
        "<tt:Priority>1</tt:Priority></tt:JobConfiguration></trc:JobItem></trc:GetRecordingJobsResponse>"
    )


def recording_job_state(active: bool) -> str:
    return envelope(
        "<trc:GetRecordingJobStateResponse><trc:State><tt:RecordingToken>Recording_1</tt:RecordingToken>"
        f"<tt:State>{'Active' if active else 'Idle'}</tt:State></trc:State>"
        "</trc:GetRecordingJobStateResponse>"
    )


def recording_summary(data_from: datetime, data_until: datetime) -> str:
    return envelope(
        "<tse:GetRecordingSummaryResponse><tse:Summary>"
        f"<tt:DataFrom>{xsd_datetime(data_from)}</tt:DataFrom>"
        f"<tt:DataUntil>{xsd_datetime(data_until)}</tt:DataUntil>"
        "<tt:NumberRecordings>1</tt:NumberRecordings></tse:Summary></tse:GetRecordingSummaryResponse>"
    )


def empty(operation: str, prefix: str = "tds") -> str:
    return envelope(f"<{prefix}:{operation}Response/>")


def start_firmware_upgrade(upload_uri: str, expected_down_s: float) -> str:
    return envelope(
        f"<tds:StartFirmwareUpgradeResponse><tds:UploadUri>{escape(upload_uri)}</tds:UploadUri>"
        f"<tds:UploadDelay>PT0S</tds:UploadDelay><tds:ExpectedDownTime>PT{expected_down_s:g}S"
        "</tds:ExpectedDownTime></tds:StartFirmwareUpgradeResponse>"
    )


def reboot_message() -> str:
    return envelope(
        "<tds:SystemRebootResponse><tds:Message>Rebooting in 1 second</tds:Message>"
        "</tds:SystemRebootResponse>"
    )


def retention_window(camera_now: datetime, days: float, stopped_for_s: float) -> tuple[datetime, datetime]:
    until = camera_now - timedelta(seconds=stopped_for_s)
    return until - timedelta(days=days), until


# Hostile payloads for the agent's parser tests.
XML_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + f']>\n<s:Envelope xmlns:s="{SOAP12}"><s:Body><x>&lol9;</x></s:Body></s:Envelope>'
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><x>&xxe;</x></s:Body></s:Envelope>'
)
MALFORMED = f'<?xml version="1.0"?><s:Envelope xmlns:s="{SOAP12}"><s:Body><tds:Get'
