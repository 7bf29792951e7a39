"""moto's response serializer, reading a ``dict`` result by the keys it has.

moto renders each response from the service's botocore shape: for every member of a structure it
asks its attribute picker which keys may hold the member's value (the member's name, its shape's
name, prefixes without the parent's name: a new alias-provider object per candidate) and looks each
up. ``GetExecutionHistory`` is a list of ``HistoryEvent`` structures of about 60 members each, one of
them set per event, so a run's history of a few hundred events made 20% of the emulator's CPU in the
chaos test (CPU samples of the thread holding the GIL), 0.35 s per call.

For a plain ``dict`` the candidate keys of a member depend only on the picker, the member's name and
its shape (the pickers' other aliases read an object's ``Meta`` class or its class name, which a
``dict`` does not vary), so they are computed once per member and shape; a member none of whose
candidates the dict has is left out without a lookup, as moto leaves out a member it finds no value
for. Everything else (objects, pickers with response transformers, candidate keys with a ``.``,
which moto reads as paths) goes through moto's own code.
"""

from __future__ import annotations

from typing import Any

from . import patches

__all__ = ["install"]

_MISSING = object()
_candidates: dict[tuple[Any, ...], tuple[str, ...] | None] = {}


def _keys(serializer: Any, shape: Any, key: str) -> tuple[str, ...] | None:
    """The keys moto's picker tries for member ``key`` of a dict, in its order; ``None``: use moto's path."""
    picker = serializer._value_picker
    slot = (type(picker), tuple(getattr(picker, "alias_providers", ())), shape, key)
    found = _candidates.get(slot, _MISSING)
    if found is _MISSING:
        from moto.core.serialize import AttributePicker, AttributePickerContext, DefaultAttributePicker

        if type(picker) is DefaultAttributePicker:
            found = (key,)
        elif isinstance(picker, AttributePicker):
            context = AttributePickerContext(obj={}, key=key, shape=shape)
            found = tuple(dict.fromkeys(picker.get_possible_keys(context)))
        else:
            found = None
        if found is not None and any("." in candidate for candidate in found):
            found = None
        _candidates[slot] = found  # the same value whichever thread computes it
    return found  # type: ignore[return-value]


def install() -> None:
    @patches.wrap(
        "moto.core.serialize:ResponseSerializer",
        "_serialize_structure_member",
        why="a dict result's members are looked up by the keys it has, not through new alias objects per member",
    )
    def serialize_structure_member(original: Any, self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if type(value) is not dict or getattr(self._value_picker, "response_transformers", None):
            return original(self, serialized, value, shape, key)
        candidates = _keys(self, shape, key)
        if candidates is None:
            return original(self, serialized, value, shape, key)
        for candidate in candidates:
            if candidate in value:
                if value[candidate] is None:
                    return None
                self._serialize(serialized, value[candidate], shape, key)
                return None
        return None

    patches.apply()
