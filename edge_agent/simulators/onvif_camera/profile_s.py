"""The Profile S answers (and the Profile G capabilities) a stock ONVIF client asks for first:
GetCapabilities, GetScopes, GetHostname, GetNTP, GetNetworkInterfaces, GetVideoSources,
GetSnapshotUri, and media profiles with their video source and encoder configurations.

Element order follows onvif.xsd (zeep validates it); the figures are a 4 MP bullet camera's.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from edge_agent.simulators.onvif_camera.soap import envelope

WIDTH, HEIGHT, FPS = 2688, 1520, 25
SUB_WIDTH, SUB_HEIGHT = 640, 360
VIDEO_SOURCE = "VideoSource_1"
# ONVIF Core "PRE_AUTH" access class: operations a device answers without credentials.
PRE_AUTH = frozenset(
    {
        "GetSystemDateAndTime",
        "GetCapabilities",
        "GetServices",
        "GetServiceCapabilities",
        "GetHostname",
        "GetWsdlUrl",
        "GetEndpointReference",
    }
)


def capabilities(base_url: str, profile_g: bool) -> str:
    device = (
        f"<tt:Device><tt:XAddr>{base_url}/onvif/device_service</tt:XAddr>"
        "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration>"
        "<tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>"
        "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye>"
        "<tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>"
        "<tt:SystemLogging>true</tt:SystemLogging><tt:FirmwareUpgrade>true</tt:FirmwareUpgrade>"
        "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions>"
        "</tt:System><tt:IO><tt:InputConnectors>0</tt:InputConnectors><tt:RelayOutputs>0</tt:RelayOutputs>"
        "</tt:IO><tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2>"
        "<tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration>"
        "<tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token>"
        "<tt:SAMLToken>false</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken>"
        "<tt:RELToken>false</tt:RELToken></tt:Security></tt:Device>"
    )
    media = (
        f"<tt:Media><tt:XAddr>{base_url}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities>"
        "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
        "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
    )
    extension = ""
    if profile_g:
        extension = (
            f"<tt:Extension><tt:Recording><tt:XAddr>{base_url}/onvif/recording_service</tt:XAddr>"
            "<tt:ReceiverSource>false</tt:ReceiverSource><tt:MediaProfileSource>true</tt:MediaProfileSource>"
            "<tt:DynamicRecordings>false</tt:DynamicRecordings><tt:DynamicTracks>false</tt:DynamicTracks>"
            "<tt:MaxStringLength>64</tt:MaxStringLength></tt:Recording>"
            f"<tt:Search><tt:XAddr>{base_url}/onvif/search_service</tt:XAddr>"
            "<tt:MetadataSearch>false</tt:MetadataSearch></tt:Search></tt:Extension>"
        )
    return envelope(
        f"<tds:GetCapabilitiesResponse><tds:Capabilities>{device}{media}{extension}"
        "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


def scopes(model: str, profile_g: bool) -> str:
    fixed = ["onvif://www.onvif.org/Profile/Streaming", "onvif://www.onvif.org/type/video_encoder"]
    if profile_g:
        fixed.append("onvif://www.onvif.org/Profile/G")
    fixed += [f"onvif://www.onvif.org/hardware/{model}", "onvif://www.onvif.org/name/IPCamera"]
    items = "".join(
        f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{escape(item)}</tt:ScopeItem></tds:Scopes>"
        for item in fixed
    )
    configurable = (
        "<tds:Scopes><tt:ScopeDef>Configurable</tt:ScopeDef>"
        "<tt:ScopeItem>onvif://www.onvif.org/location/roadside</tt:ScopeItem></tds:Scopes>"
    )
    return envelope(f"<tds:GetScopesResponse>{items}{configurable}</tds:GetScopesResponse>")


def hostname(name: str) -> str:
    return envelope(
        "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>"
        f"<tt:Name>{escape(name)}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>"
    )


def ntp(server: str | None) -> str:
    manual = (
        ""
        if server is None
        else f"<tt:NTPManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{escape(server)}</tt:IPv4Address>"
        "</tt:NTPManual>"
    )
    return envelope(
        "<tds:GetNTPResponse><tds:NTPInformation><tt:FromDHCP>false</tt:FromDHCP>"
        f"{manual}</tds:NTPInformation></tds:GetNTPResponse>"
    )


def network_interfaces(address: str, mac: str) -> str:
    return envelope(
        '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
        "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
        f"<tt:HwAddress>{mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
        "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
        f"<tt:Address>{escape(address)}</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual>"
        "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4></tds:NetworkInterfaces>"
        "</tds:GetNetworkInterfacesResponse>"
    )


def video_sources() -> str:
    return envelope(
        f'<trt:GetVideoSourcesResponse><trt:VideoSources token="{VIDEO_SOURCE}">'
        f"<tt:Framerate>{FPS}</tt:Framerate><tt:Resolution><tt:Width>{WIDTH}</tt:Width>"
        f"<tt:Height>{HEIGHT}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>"
    )


def _video_source_configuration() -> str:
    return (
        '<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig</tt:Name>'
        f"<tt:UseCount>2</tt:UseCount><tt:SourceToken>{VIDEO_SOURCE}</tt:SourceToken>"
        f'<tt:Bounds x="0" y="0" width="{WIDTH}" height="{HEIGHT}"/></tt:VideoSourceConfiguration>'
    )


def _video_encoder_configuration(index: int, width: int, height: int, bitrate_kbps: int) -> str:
    return (
        f'<tt:VideoEncoderConfiguration token="VideoEncoder_{index}"><tt:Name>VideoEncoder_{index}</tt:Name>'
        "<tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding>"
        f"<tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height></tt:Resolution>"
        "<tt:Quality>4</tt:Quality><tt:RateControl>"
        f"<tt:FrameRateLimit>{FPS}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>"
        f"<tt:BitrateLimit>{bitrate_kbps}</tt:BitrateLimit></tt:RateControl>"
        "<tt:H264><tt:GovLength>50</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>"
        "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address>"
        "</tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
        "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>"
    )


def profiles() -> str:
    streams = ((1, "mainStream", WIDTH, HEIGHT, 4096), (2, "subStream", SUB_WIDTH, SUB_HEIGHT, 512))
    items = "".join(
        f'<trt:Profiles token="Profile_{index}" fixed="true"><tt:Name>{name}</tt:Name>'
        f"{_video_source_configuration()}{_video_encoder_configuration(index, width, height, bitrate)}"
        "</trt:Profiles>"
        for index, name, width, height, bitrate in streams
    )
    return envelope(f"<trt:GetProfilesResponse>{items}</trt:GetProfilesResponse>")


def snapshot_uri(uri: str) -> str:
    return envelope(
        f"<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>{escape(uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
        "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
        "</trt:MediaUri></trt:GetSnapshotUriResponse>"
    )


# What the snapshot URI serves: a tiny baseline JPEG (SOI ... EOI).
SNAPSHOT_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912"
    "130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b080001"
    "000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103"
    "03020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f024336272"
    "82090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475"
    "767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9"
    "cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9"
)
