"""The library's ONVIF WSDLs cut down, in memory, to the operations the agent calls (RSS, issue 16).

zeep builds an object for every element and type of a WSDL and its schemas; the four services
the agent uses import onvif.xsd (some 1,600 components), so their full set costs about 9 MB per
process although the checks call 14 operations. Here the stock files of the pinned library are
parsed and cut to those operations (portType and binding), their messages, and the schema
components those messages reach (types, elements, groups, attributes, followed through `type`,
`ref`, `base`, `itemType`, `memberTypes` and `substitutionGroup`); documentation is dropped.
Nothing else changes: the same namespaces, bindings, element and type definitions, so the SOAP
sent and the parsing of answers are those of the stock WSDLs for these operations. A type used
only through `xsi:type` is not kept: zeep then parses the element with its declared type.

The cut is made at load time, not shipped as files: the ONVIF documents' licence allows copying
them with their notice, not modifying them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
_SCHEMA_FILE = "onvif.xsd"  # the schema every service imports: cut with the services

# The operations the agent calls, per service; the library's handshake and discovery included.
OPERATIONS: Mapping[str, tuple[str, ...]] = {
    "devicemgmt": (
        "GetSystemDateAndTime",  # the clock handshake (library and signing)
        "GetServices",  # discovery (library: update_xaddrs)
        "GetCapabilities",  # discovery fallback of older cameras (library)
        "GetDeviceInformation",
        "SetNTP",
        "SetSystemDateAndTime",
        "SystemReboot",
        "StartFirmwareUpgrade",
    ),
    "media": ("GetProfiles", "GetStreamUri"),
    "recording": ("GetRecordingJobs", "GetRecordingJobState"),
    "search": ("GetRecordingSummary",),
}

# The kind a reference names, by attribute (and for `ref`, by the referring tag).
_REF_KINDS = {"element": "element", "attribute": "attribute", "group": "group", "attributeGroup": "group_a"}
_COMPONENT_KINDS = {
    "element": "element",
    "complexType": "type",
    "simpleType": "type",
    "group": "group",
    "attributeGroup": "group_a",
    "attribute": "attribute",
}

Key = tuple[str, str, str]  # (kind, namespace, name)


def trimmed_documents(wsdl_dir: str, services: Mapping[str, str]) -> dict[str, bytes]:
    """Trimmed bytes by normalised path: onvif.xsd and each service's WSDL (`services`: name -> file).

    Raises ValueError when an operation or a component it needs is missing from the files."""
    # Library files, yet parsed as any input is (no entities, no network); comments and layout
    # whitespace are left out as they are read: fewer nodes, a lower peak while cutting.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True, remove_blank_text=True
    )
    trees = {name: etree.parse(os.path.join(wsdl_dir, services[name]), parser) for name in OPERATIONS}
    schema_tree = etree.parse(os.path.join(wsdl_dir, _SCHEMA_FILE), parser)
    schemas = [schema_tree.getroot()] + [_embedded_schema(tree) for tree in trees.values()]
    index = {key: node for schema in schemas for key, node in _components(schema)}
    roots: set[Key] = set()
    for name, tree in trees.items():
        roots |= _cut_service(tree, OPERATIONS[name])
    kept = _closure(index, roots)
    for schema in schemas:
        _cut_schema(schema, kept)
    out = {_path(wsdl_dir, services[name]): _serialise(tree) for name, tree in trees.items()}
    out[_path(wsdl_dir, _SCHEMA_FILE)] = _serialise(schema_tree)
    return out


def _path(directory: str, name: str) -> str:
    return os.path.normpath(os.path.join(directory, name))


def _embedded_schema(tree: etree._ElementTree) -> etree._Element:
    schema = tree.find(f"{{{WSDL}}}types/{{{XS}}}schema")
    if schema is None:
        raise ValueError(f"{tree.docinfo.URL}: no embedded schema")
    return schema


def _components(schema: etree._Element) -> Iterator[tuple[Key, etree._Element]]:
    namespace = schema.get("targetNamespace", "")
    for node in schema.iterchildren(etree.Element):
        kind = _COMPONENT_KINDS.get(etree.QName(node).localname)
        if kind is not None:
            yield (kind, namespace, node.get("name", "")), node


def _qname(node: etree._Element, value: str) -> tuple[str, str]:
    prefix, _, local = value.rpartition(":")
    return node.nsmap.get(prefix or None, ""), local


def _cut_service(tree: etree._ElementTree, operations: Iterable[str]) -> set[Key]:
    """Keep only `operations` in the portType and binding, and their messages; return the
    schema elements those messages carry."""
    root, wanted = tree.getroot(), set(operations)
    for holder in (*root.iterfind(f"{{{WSDL}}}portType"), *root.iterfind(f"{{{WSDL}}}binding")):
        present = {op.get("name") for op in holder.iterfind(f"{{{WSDL}}}operation")}
        if missing := wanted - present:
            raise ValueError(f"{tree.docinfo.URL}: no operation {sorted(missing)}")
        for op in holder.findall(f"{{{WSDL}}}operation"):
            if op.get("name") not in wanted:
                holder.remove(op)
    messages = {
        _qname(use, use.get("message", ""))[1]
        for holder in root.iterfind(f"{{{WSDL}}}portType")
        for use in holder.iter(f"{{{WSDL}}}input", f"{{{WSDL}}}output", f"{{{WSDL}}}fault")
    }
    roots: set[Key] = set()
    for message in root.findall(f"{{{WSDL}}}message"):
        if message.get("name") not in messages:
            root.remove(message)
            continue
        for part in message.iterfind(f"{{{WSDL}}}part"):
            if part.get("element"):
                roots.add(("element", *_qname(part, part.get("element", ""))))
    return roots


def _references(node: etree._Element) -> Iterator[Key]:
    for item in node.iter(etree.Element):
        for attribute in ("type", "base", "itemType"):
            if value := item.get(attribute):
                yield ("type", *_qname(item, value))
        for value in (item.get("memberTypes") or "").split():
            yield ("type", *_qname(item, value))
        if value := item.get("ref"):
            yield (_REF_KINDS.get(etree.QName(item).localname, "element"), *_qname(item, value))
        if value := item.get("substitutionGroup"):
            yield ("element", *_qname(item, value))


def _closure(index: Mapping[Key, etree._Element], roots: set[Key]) -> set[Key]:
    """Every indexed component reachable from `roots` (references to other schemas are left to
    those schemas, which are loaded whole)."""
    namespaces = {namespace for _, namespace, _ in index}
    kept: set[Key] = set()
    pending = [key for key in roots if key[1] in namespaces]
    while pending:
        key = pending.pop()
        if key in kept:
            continue
        if key not in index:
            raise ValueError(f"{{{key[1]}}}{key[2]} ({key[0]}) is referenced but not defined")
        kept.add(key)
        pending.extend(ref for ref in _references(index[key]) if ref[1] in namespaces and ref not in kept)
    return kept


def _cut_schema(schema: etree._Element, kept: set[Key]) -> None:
    """Drop the components not kept, then the imports of schemas nothing kept refers to (onvif.xsd
    then no longer pulls in the WS-Notification schemas: the events service is not used)."""
    for key, node in list(_components(schema)):
        if key not in kept:
            schema.remove(node)
    used = {namespace for _, namespace, _ in _references(schema)}
    for node in schema.findall(f"{{{XS}}}import"):
        if node.get("namespace") not in used:
            schema.remove(node)
    for doc in list(schema.iter(f"{{{XS}}}annotation", f"{{{WSDL}}}documentation")):
        parent = doc.getparent()
        if parent is not None:
            parent.remove(doc)


def _serialise(tree: etree._ElementTree) -> bytes:
    for doc in list(tree.getroot().iter(f"{{{WSDL}}}documentation")):
        parent = doc.getparent()
        if parent is not None:
            parent.remove(doc)
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="utf-8"))
