"""Paging of a list answer in the emulator's own handlers: the token a service returns is the offset of
the next page, and a token it did not write is refused, as AWS refuses one it cannot read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["offset_page"]

_Item = TypeVar("_Item")


def offset_page(
    items: Sequence[_Item], token: object, size: int, refuse: Callable[[str], Exception]
) -> tuple[list[_Item], str | None]:
    """The ``size`` items from the offset ``token`` names (None: the first) and the next page's token (None
    when no item is left); a token that is not one raises ``refuse(<why>)``."""
    if token is not None and not str(token).isdigit():
        raise refuse(f"Invalid pagination token {token!r}.")
    start = int(str(token)) if token is not None else 0
    end = start + size
    return list(items[start:end]), (str(end) if end < len(items) else None)
