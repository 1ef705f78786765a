"""Where a configuration problem is, in words a person finds in the file: the line, the device by
its id, and a likely meant key for a misspelt one (`edge-agent check`).

The YAML is composed once more into nodes (a cabinet's file is a few kilobytes) so every key and
list item keeps its line; pydantic's error locations are then matched against that index.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel

Loc = tuple[str | int, ...]


def line_index(text: str, loader: type[yaml.SafeLoader]) -> dict[Loc, int]:
    """(key or index, ...) -> 1-based line where that key or list item starts."""
    lines: dict[Loc, int] = {}
    try:
        root = yaml.compose(text, Loader=loader)
    except (yaml.YAMLError, RecursionError, ValueError):
        return lines
    pending: list[tuple[Loc, yaml.Node]] = [((), root)] if root is not None else []
    while pending:
        path, node = pending.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines[(*path, key.value)] = key.start_mark.line + 1
                    pending.append(((*path, key.value), value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*path, index)] = item.start_mark.line + 1
                pending.append(((*path, index), item))
    return lines


def plain_loc(loc: tuple[Any, ...], kinds: Mapping[str, Any]) -> Loc:
    """pydantic's location without its union labels (`devices, 2, host, ...` -> `devices, 2, ...`)."""
    kept: list[str | int] = []
    for item in loc:
        after_device = len(kept) == 2 and kept[0] == "devices" and isinstance(kept[1], int)
        if (after_device and item in kinds) or "[" in str(item):
            continue
        kept.append(item)
    return tuple(kept)


def line_of(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    """The line of the deepest part of `loc` the file has (a missing key: its parent's line)."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def device_name(raw: Any, index: int) -> str:
    """`devices[cam-1]` when that id is given once, else `devices[6]` (ids may be wrong or twice)."""
    devices = raw.get("devices") if isinstance(raw, dict) else None
    if not isinstance(devices, list) or not 0 <= index < len(devices):
        return f"devices[{index}]"
    ids = [d.get("device_id") if isinstance(d, dict) else None for d in devices]
    own = ids[index]
    if isinstance(own, str) and own and ids.count(own) == 1 and len(own) <= 64:
        return f"devices[{own}]"
    return f"devices[{index}]"


def suggestion(loc: Loc, raw: Any, root: type[BaseModel], kinds: Mapping[str, Any]) -> str | None:
    """For an unknown key, the closest key the model at that place accepts (`poll_interval_s`)."""
    model = _model_at(loc[:-1], raw, root, kinds)
    if model is None or not isinstance(loc[-1], str):
        return None
    names = [field.alias or name for name, field in model.model_fields.items()]
    import difflib  # only for a config with a mistake: a valid one never pays its import

    close = difflib.get_close_matches(loc[-1], names, n=1, cutoff=0.6)
    return close[0] if close else None


def _model_at(loc: Loc, raw: Any, root: type[BaseModel], kinds: Mapping[str, Any]) -> type[BaseModel] | None:
    current: Any = root
    for depth, item in enumerate(loc):
        if depth == 1 and loc[0] == "devices" and isinstance(item, int):
            devices = raw.get("devices") if isinstance(raw, dict) else None
            device = devices[item] if isinstance(devices, list) and 0 <= item < len(devices) else None
            kind = kinds.get(str(device.get("type"))) if isinstance(device, dict) else None
            current = getattr(kind, "config_model", None)
        elif isinstance(current, type) and issubclass(current, BaseModel) and isinstance(item, str):
            field = current.model_fields.get(item)
            current = None if field is None else _inner(field.annotation)
        elif isinstance(item, int | str):
            current = _inner(current, item=True)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner(annotation: Any, *, item: bool = False) -> Any:
    """The model inside `X | None`, `list[X]`, `dict[str, X]` (for `item`: the element type)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        if len(args) == 1:
            return _inner(args[0], item=item)
        models = [_inner(a, item=item) for a in args]
        found = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel)]
        return found[0] if len(found) == 1 else None
    if item and origin in (list, tuple, dict) and args:
        return _inner(args[-1])
    if origin is typing.Annotated:
        return _inner(args[0], item=item)
    return annotation if not item else None
