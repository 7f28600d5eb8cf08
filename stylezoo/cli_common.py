"""Parsing shared by the command-line modules (``KEY=VALUE`` settings)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .errors import InvalidOptionError

#: Python spellings people type for JSON's true, false and null.
_PYTHON_LITERALS = {"True": True, "False": False, "None": None}


def _parse_value(text: str) -> Any:
    """A ``--set``/``--option`` value: JSON when it parses (numbers, true, lists, …), the
    Python spellings True, False and None, else the text itself."""
    if text.strip() in _PYTHON_LITERALS:
        return _PYTHON_LITERALS[text.strip()]
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def _parse_settings(pairs: Iterable[str], flag: str = "--set") -> dict[str, Any]:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidOptionError(
                f"{flag} expects KEY=VALUE (e.g. {flag} ngf=32), got {pair!r}."
            )
        settings[key.strip()] = _parse_value(value)
    return settings
