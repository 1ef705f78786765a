"""The fault-code catalogue: what each code means for people, in zh-CN and English.

`catalogue.yaml` beside this module is the one place; `lookup` finds a code's entry (exact codes
first, then the `*_suffix` patterns of codes built from a profile's value names).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

import yaml
from pydantic import Field

from edge_agent.config_base import StrictModel
from edge_agent.readings import Cause, Severity

Lang = Literal["zh-CN", "en"]


class Words(StrictModel):
    title: str = Field(min_length=1, max_length=80)
    explain: str = Field(min_length=1, max_length=300)
    check: str = Field(min_length=1, max_length=300)


class Entry(StrictModel):
    severity: Severity
    cause: Cause
    zh_cn: Words = Field(alias="zh-CN")
    en: Words

    def words(self, lang: Lang) -> Words:
        return self.zh_cn if lang == "zh-CN" else self.en


@functools.cache
def catalogue() -> dict[str, Entry]:
    """code (or `*_suffix` pattern) -> entry, read once from the packaged YAML."""
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return {str(code): Entry.model_validate(entry) for code, entry in yaml.safe_load(text).items()}


def lookup(code: str) -> tuple[str, str] | None:
    """(catalogue key, subject) of a code: `("sd_full", "")`, `("*_high", "voltage_v")`; None if absent."""
    entries = catalogue()
    if code in entries:
        return code, ""
    patterns = sorted((key for key in entries if key.startswith("*")), key=len, reverse=True)
    for pattern in patterns:
        suffix = pattern[1:]
        if code.endswith(suffix) and len(code) > len(suffix):
            return pattern, code.removesuffix(suffix)
    return None


def texts(lang: Lang) -> dict[str, dict[str, str]]:
    """The catalogue in one language, for the page: key -> {title, explain, check, severity, cause}."""
    return {
        key: entry.words(lang).model_dump() | {"severity": entry.severity, "cause": entry.cause}
        for key, entry in catalogue().items()
    }
