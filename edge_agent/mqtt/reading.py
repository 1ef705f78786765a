"""Reading contract payloads as a subscriber: fields added within v1 are ignored, not refused.

The payload models forbid unknown fields so that a producer's typo fails at once; a subscriber
must accept what a newer agent adds (docs/mqtt.md, versioning). `read_payload` drops the fields a
model does not know, at every depth, then validates the rest.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


def read_payload(model: type[ModelT], document: object) -> ModelT:
    """`document` (parsed JSON) as `model`, ignoring unknown fields; raises pydantic's ValidationError.

    A message of the same contract version validates at once; only one with added fields is
    pruned (a walk over the model, ~10x the cost of validating) and validated again.
    """
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        if not any(error["type"] == "extra_forbidden" for error in exc.errors()):
            raise
    return model.model_validate(_known(model, document))


def _known(model: type[BaseModel], document: object) -> object:
    if not isinstance(document, dict):
        return document
    kept: dict[str, Any] = {}
    for name, value in document.items():
        field = model.model_fields.get(name)
        if field is not None:
            kept[name] = _prune(field.annotation, value)
    return kept


def _prune(annotation: object, value: object) -> object:
    """Prunes `value` by every model found in `annotation` (a model, list[model], model | None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _known(annotation, value)
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is list and arguments and isinstance(value, list):
        return [_prune(arguments[0], item) for item in value]
    if origin in (typing.Union, types.UnionType) and isinstance(value, dict):
        for argument in arguments:
            if isinstance(argument, type) and issubclass(argument, BaseModel):
                return _known(argument, value)
    if origin is typing.Annotated and arguments:
        return _prune(arguments[0], value)
    return value
