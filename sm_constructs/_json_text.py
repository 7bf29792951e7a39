"""JSON text joined from literal pieces and deploy-time values (the parts of an ``Fn::Join``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["parts_in_strings"]


def parts_in_strings(parts: Iterable[Any]) -> Iterator[tuple[Any, bool]]:
    """Each part, with whether it begins inside a JSON string of the text the literal parts make.

    Literal parts are ``str``; any other part (an intrinsic) adds no text to the scan. A backslash
    escapes the next character only inside a string (JSON has no escapes elsewhere).
    """
    in_string = escaped = False
    for part in parts:
        yield part, in_string
        if not isinstance(part, str):
            continue
        for ch in part:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = in_string
            elif ch == '"':
                in_string = not in_string
