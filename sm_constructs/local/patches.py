"""The one registry of every change the emulator makes to moto's behaviour.

Each plug-in module declares its changes with :func:`replace` (a moto attribute we swap for ours)
or :func:`add` (an attribute moto lacks, such as a SageMaker API it does not implement). Nothing is
assigned until :func:`apply` runs, and :func:`check` runs first: every replaced target must exist,
every added one must not, and a replacement of a function must accept the parameters moto's
function takes. A moto release that moves or reshapes a target stops the emulator at start with
"moto X.Y is not supported by this emulator (tested: …)" instead of letting it misbehave.

The tested range is :data:`TESTED_MOTO`, the same bounds as the ``local`` extra in
``pyproject.toml`` (a test keeps the two equal).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

__all__ = ["TESTED_MOTO", "MotoNotSupported", "Patch", "add", "apply", "check", "registered", "replace"]

#: moto versions the emulator is tested with: ``>=`` lower bound, ``<`` upper bound.
TESTED_MOTO = (">=5.2.5", "<5.3")


class MotoNotSupported(RuntimeError):
    """The installed moto does not have what the emulator changes."""


@dataclass(frozen=True)
class Patch:
    """One change: ``owner.name = value`` where owner is ``module`` or ``module:Class``."""

    owner: str
    name: str
    value: Any
    adds: bool
    why: str

    def target(self) -> Any:
        module, _, qualname = self.owner.partition(":")
        obj: Any = importlib.import_module(module)
        for part in filter(None, qualname.split(".")):
            obj = getattr(obj, part)
        return obj

    def applied_to(self, owner: Any) -> bool:
        current = vars(owner).get(self.name) if isinstance(owner, type) else getattr(owner, self.name, None)
        return current is self.value

    def problem(self) -> str | None:
        """What is wrong with this target in the installed moto, or None."""
        try:
            owner = self.target()
        except (ImportError, AttributeError) as error:
            return f"{self.owner} is missing ({error})"
        if self.applied_to(owner):
            return None
        exists = self.name in vars(owner) if isinstance(owner, type) else hasattr(owner, self.name)
        if self.adds:
            return f"{self.owner}.{self.name} now exists in moto; the emulator would hide it" if exists else None
        if not exists:
            return f"{self.owner}.{self.name} is missing"
        return _signature_problem(getattr(owner, self.name), self.value, f"{self.owner}.{self.name}")


def _parameters(fn: Any) -> list[inspect.Parameter] | None:
    fn = fn.fget if isinstance(fn, property) else fn
    fn = fn.__func__ if isinstance(fn, (classmethod, staticmethod)) else fn
    if not callable(fn):
        return None
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None


def _signature_problem(original: Any, replacement: Any, where: str) -> str | None:
    """A replacement must take every parameter the original takes (or ``*args``/``**kwargs``)."""
    theirs, ours = _parameters(original), _parameters(replacement)
    if theirs is None or ours is None:
        return None
    if any(p.kind is p.VAR_POSITIONAL for p in ours) and any(p.kind is p.VAR_KEYWORD for p in ours):
        return None  # a wrapper that forwards whatever it is given
    names = [p.name for p in ours]
    missing = [p.name for p in theirs if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in names]
    if missing:
        return f"{where} takes {', '.join(missing)}, which the emulator's replacement does not"
    return None


_registry: dict[tuple[str, str], Patch] = {}
_applied: set[tuple[str, str]] = set()


def replace(owner: str, name: str, value: Any, *, why: str) -> None:
    """Declare that moto's ``owner.name`` is replaced by ``value`` (``owner``: ``"module:Class"``)."""
    _registry[(owner, name)] = Patch(owner, name, value, adds=False, why=why)


def add(owner: str, name: str, value: Any, *, why: str) -> None:
    """Declare ``owner.name``, which moto lacks (a SageMaker API, a CloudFormation hook)."""
    _registry[(owner, name)] = Patch(owner, name, value, adds=True, why=why)


def registered() -> list[Patch]:
    """Every declared change, in declaration order."""
    return list(_registry.values())


def _moto_version() -> str:
    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:  # pragma: no cover - moto is a dependency of the local extra
        return "(not installed)"


def check(patches: list[Patch] | None = None) -> None:
    """Raise :class:`MotoNotSupported` listing every target the installed moto lacks or reshaped."""
    problems = [p for p in (patch.problem() for patch in (patches or registered())) if p]
    if problems:
        raise MotoNotSupported(
            f"moto {_moto_version()} is not supported by this emulator (tested: moto{','.join(TESTED_MOTO)}): "
            + "; ".join(problems)
        )


def apply(on_apply: Callable[[Patch], None] | None = None) -> None:
    """Check every declared change, then make those not yet made (idempotent)."""
    pending = [p for p in registered() if (p.owner, p.name) not in _applied]
    check(pending)
    for patch in pending:
        setattr(patch.target(), patch.name, patch.value)
        _applied.add((patch.owner, patch.name))
        if on_apply:
            on_apply(patch)
