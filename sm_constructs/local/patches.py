"""The one registry of every change the emulator makes to moto's behaviour.

Each plug-in module declares its changes, one ``why`` each: :func:`replace` (a moto attribute we
swap for ours), :func:`wrap` (ours runs around moto's, which it is given; :func:`wrap_cloudformation`
around a model's CloudFormation create and update), :func:`add` (an attribute
moto lacks, such as a SageMaker API it does not implement), :func:`entry` (a key of a dict moto
reads) and :func:`subclass` (a class moto discovers by subclassing, such as a CloudFormation type).
Nothing is changed until :func:`apply`, which first runs :func:`check`: every replaced or wrapped
target must exist, every added one must not, a replacement must take the parameters moto's function
takes, in its order. A moto release that moves or reshapes a target stops the emulator at start with
"moto X.Y is not supported by this emulator (tested: …)" instead of letting it misbehave.

A model's CloudFormation hooks take moto's long parameter lists; :func:`creates` and :func:`updates` make
them of a function of one :class:`Change` (for a wrap too, with ``wrapping=True``).

Declarations of one target from several modules stack in declaration order (a wrap receives what
the ones before it made); a module that declares again (installs again) replaces its own.
The tested range is :data:`TESTED_MOTO`, the bounds of moto in ``pyproject.toml`` (a test keeps the two equal).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

__all__ = ["TESTED_MOTO", "Change", "MotoNotSupported", "Patch", "add", "apply", "check", "creates", "entry", "held"]
__all__ += ["registered", "replace", "restore", "subclass", "updates", "wrap", "wrap_cloudformation"]

#: moto versions the emulator is tested with: ``>=`` lower bound, ``<`` upper bound.
TESTED_MOTO = (">=5.2.5", "<5.3")
_MISSING: Any = object()


class MotoNotSupported(RuntimeError):
    """The installed moto does not have what the emulator changes."""


@dataclass(frozen=True)
class Patch:
    """One change of ``owner.name`` (``owner``: ``"module"`` or ``"module:Class"``), declared by module ``by``."""

    owner: str
    name: str
    value: Any
    kind: str  # replace | wrap | add | entry | subclass
    why: str
    by: str
    key: tuple[Any, ...] = ()  # entry: the path of keys into the dict
    refresh: Callable[[], None] | None = None  # subclass: what moto caches about its subclasses

    def target(self) -> Any:
        module, _, qualname = self.owner.partition(":")
        obj: Any = importlib.import_module(module)
        for part in filter(None, qualname.split(".")):
            obj = getattr(obj, part)
        return obj

    @property
    def where(self) -> str:
        return f"{self.owner}.{self.name}" + "".join(f"[{k!r}]" for k in self.key)


def _unwrap(value: Any) -> Any:
    value = value.fget if isinstance(value, property) else value
    return value.__func__ if isinstance(value, (classmethod, staticmethod)) else value


def _rewrap(like: Any, fn: Any) -> Any:
    return type(like)(fn) if isinstance(like, (property, classmethod, staticmethod)) else fn


def _signature_problem(original: Any, ours: Any, where: str, skip: int = 0) -> str | None:
    """Ours must take moto's parameters by name and, when positional, in moto's order."""
    skip += isinstance(ours, classmethod) and isinstance(original, staticmethod)  # both called on the class
    try:
        theirs = list(inspect.signature(_unwrap(original)).parameters.values())
        mine = list(inspect.signature(_unwrap(ours), follow_wrapped=False).parameters.values())[skip:]
    except (TypeError, ValueError):
        return None  # not a function (a module, a constant): nothing to compare
    kinds = {p.kind for p in mine}
    if inspect.Parameter.VAR_POSITIONAL in kinds and inspect.Parameter.VAR_KEYWORD in kinds:
        return None  # forwards whatever it is given
    names = [p.name for p in mine]
    missing = [p.name for p in theirs if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in names]
    positional = [p.name for p in theirs if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    extra = [p.name for p in mine if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if missing:
        return f"{where} takes {', '.join(missing)}, which the emulator's replacement does not"
    if names[: len(positional)] != positional:
        return f"{where} takes ({', '.join(positional)}) in an order the emulator's replacement does not"
    if extra := [n for n in extra if n not in {p.name for p in theirs}]:
        return f"{where} no longer takes {', '.join(extra)}, which the emulator's replacement requires"
    return None


_layers: dict[tuple[str, str], list[Patch]] = {}
_originals: dict[tuple[str, str], Any] = {}
_entries: dict[tuple[str, str], tuple[dict[Any, Any], Any, Any]] = {}  # (dict, key, moto's value) of each entry set
_dirty: set[tuple[str, str]] = set()
_hold = [0]


def _caller() -> str:
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return str(frame.f_globals.get("__name__"))


def _declare(patch: Patch) -> None:
    slot = (patch.owner, patch.where.removeprefix(patch.owner + "."))
    layers = _layers.setdefault(slot, [])
    mine = next((i for i, p in enumerate(layers) if p.by == patch.by), None)
    if mine is None:
        layers.append(patch)
    else:
        layers[mine] = patch
    _dirty.add(slot)


def replace(owner: str, name: str, value: Any, *, why: str) -> None:
    """Declare that moto's ``owner.name`` is replaced by ``value``."""
    _declare(Patch(owner, name, value, "replace", why, _caller()))


def add(owner: str, name: str, value: Any, *, why: str) -> None:
    """Declare ``owner.name``, which moto lacks (a SageMaker API, a CloudFormation hook)."""
    _declare(Patch(owner, name, value, "add", why, _caller()))


def wrap(owner: str, name: str, *, why: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``fn(original, *args)`` replaces ``owner.name``; ``original`` is what it replaced, unbound."""

    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        _declare(Patch(owner, name, fn, "wrap", why, _caller()))
        return fn

    return declare


@dataclass(frozen=True)
class Change:
    """One call of a moto model's CloudFormation hook (``create_from_cloudformation_json``,
    ``update_from_cloudformation_json``), its arguments as one record; :func:`creates` and :func:`updates`
    make a hook of a function that takes it."""

    name: str  # the physical name: the template's name property, else one moto generated
    template: dict[str, Any]  # the resource's JSON (Type, Properties, ...)
    account_id: str
    region_name: str
    logical_id: str
    previous: Any = None  # an update's resource as it was
    extra: dict[str, Any] = field(default_factory=dict)  # a create's LogicalId, StackId and ResourceType
    moto: Callable[..., Any] | None = None  # a wrap's original: moto's hook

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self.template.get("Properties") or {})

    def original(self, cls: Any, template: dict[str, Any]) -> Any:
        """A wrap's original (moto's hook) called with ``template`` in place of the one given."""
        if self.moto is None:
            raise TypeError("only a wrap (creates/updates with wrapping=True) has an original")
        if self.previous is None:
            return self.moto(cls, self.name, template, self.account_id, self.region_name, **self.extra)
        return self.moto(cls, self.previous, self.name, template, self.account_id, self.region_name)


def _created(
    hook: Callable[[Any, Change], Any],
    moto: Any,
    cls: Any,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    logical_id = kwargs.get("LogicalId", resource_name)
    return hook(
        cls, Change(resource_name, cloudformation_json, account_id, region_name, logical_id, extra=kwargs, moto=moto)
    )


def _updated(
    hook: Callable[[Any, Change], Any],
    moto: Any,
    cls: Any,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    logical_id = getattr(original_resource, "logical_resource_id", new_resource_name)
    return hook(
        cls,
        Change(
            new_resource_name, cloudformation_json, account_id, region_name, logical_id, original_resource, moto=moto
        ),
    )


def creates(hook: Callable[[Any, Change], Any], *, wrapping: bool = False) -> Any:
    """``create_from_cloudformation_json`` (a classmethod, as moto calls it) that calls ``hook(cls, change)``;
    with ``wrapping``, the function :func:`wrap` takes, ``change.original`` moto's."""
    return functools.partial(_created, hook) if wrapping else classmethod(functools.partial(_created, hook, None))


def updates(hook: Callable[[Any, Change], Any], *, wrapping: bool = False) -> Any:
    """``update_from_cloudformation_json`` that calls ``hook(cls, change)``, ``change.previous`` the
    resource as it was; ``wrapping`` as :func:`creates`."""
    return functools.partial(_updated, hook) if wrapping else classmethod(functools.partial(_updated, hook, None))


def wrap_cloudformation(
    owner: str,
    *,
    why: str,
    properties: Callable[[dict[str, Any], str, str, str], dict[str, Any]] | None = None,
    made: Callable[[Any, dict[str, Any], str], None] | None = None,
    create: bool = True,
    update: bool = True,
) -> None:
    """Declare wraps of moto's CloudFormation create (with ``create``) and update (with ``update``) of
    ``owner``'s model.

    ``properties(properties, account_id, region_name, logical_id)`` gives the ``Properties`` moto is
    handed; ``made(resource, properties, account_id)`` is told what moto made of them.
    """

    def hook(cls: Any, change: Change) -> Any:
        given = change.template
        if properties is not None:
            resolved = properties(change.properties, change.account_id, change.region_name, change.logical_id)
            given = {**change.template, "Properties": resolved}
        resource = change.original(cls, given)
        if made is not None:
            made(resource, given.get("Properties", {}), change.account_id)
        return resource

    if create:
        wrap(owner, "create_from_cloudformation_json", why=why)(creates(hook, wrapping=True))
    if update:
        wrap(owner, "update_from_cloudformation_json", why=why)(updates(hook, wrapping=True))


def entry(owner: str, name: str, key: tuple[Any, ...], value: Any, *, why: str) -> None:
    """Declare ``owner.name[key[0]]...[key[-1]] = value`` in a dict moto reads."""
    _declare(Patch(owner, name, value, "entry", why, _caller(), key=key))


def subclass(base: str, cls: type, *, why: str, refresh: Callable[[], None] | None = None) -> None:
    """Declare ``cls``, a subclass of moto's ``base`` that moto discovers; ``refresh`` drops moto's cache of them."""
    _declare(Patch(base, f"<{cls.__module__}.{cls.__qualname__}>", cls, "subclass", why, _caller(), refresh=refresh))


def registered() -> list[Patch]:
    """Every declared change."""
    return [patch for layers in _layers.values() for patch in layers]


def _compose(slot: tuple[str, str]) -> tuple[Any, list[str]]:
    """The value the layers of ``slot`` make from moto's, and what is wrong with them."""
    first = _layers[slot][-1]
    try:
        owner = first.target()
    except (ImportError, AttributeError) as error:
        return None, [f"{first.owner} is missing ({error})"]
    if first.kind in ("entry", "subclass"):
        return first.value, _shape_problem(first, owner)
    if slot not in _originals:
        getter = inspect.getattr_static if isinstance(owner, type) else getattr
        _originals[slot] = getter(owner, first.name, _MISSING)
    original = value = _originals[slot]
    problems = []
    for patch in _layers[slot]:
        if patch.kind == "add" and original is not _MISSING:
            problems.append(f"{patch.where} now exists in moto; the emulator would hide it")
        elif patch.kind != "add" and original is _MISSING:
            problems.append(f"{patch.where} is missing")
        elif patch.kind != "add":
            problem = _signature_problem(original, patch.value, patch.where, skip=int(patch.kind == "wrap"))
            problems += [problem] if problem else []
        if patch.kind == "wrap" and value is not _MISSING:
            value = _rewrap(value, _layered(patch.value, _unwrap(value)))
        elif patch.kind != "wrap":
            value = patch.value
    return value, problems


def _layered(fn: Callable[..., Any], original: Any) -> Callable[..., Any]:
    @functools.wraps(fn)
    def layered(*args: Any, **kwargs: Any) -> Any:
        return fn(original, *args, **kwargs)

    return layered


def _shape_problem(patch: Patch, owner: Any) -> list[str]:
    if patch.kind == "subclass":
        if not issubclass(patch.value, owner):
            return [f"{patch.value.__qualname__} is no longer a subclass of {patch.owner}"]
        mine = [c for c in patch.value.__mro__ if not issubclass(owner, c)]  # with our mixins, not moto's bases
        # every attribute ours define (the last definition), but a constructor: it is their own
        ours = {n: v for c in reversed(mine) for n, v in vars(c).items() if not n.startswith("__")}.items()
        found = [(n, v, inspect.getattr_static(owner, n, _MISSING)) for n, v in ours]
        where = f"{patch.owner}.{{}}"
        return [p for n, v, o in found if o is not _MISSING and (p := _signature_problem(o, v, where.format(n)))]
    container = getattr(owner, patch.name, None)
    for k in patch.key[:-1]:
        container = container.get(k) if isinstance(container, dict) else None
    return [] if isinstance(container, dict) else [f"{patch.where}: moto has no such dict"]


def _version() -> str:
    with contextlib.suppress(metadata.PackageNotFoundError):
        return metadata.version("moto")
    return "(not installed)"  # pragma: no cover - moto is a dependency of the local extra


def check(slots: Any = None) -> dict[tuple[str, str], Any]:
    """Raise :class:`MotoNotSupported` naming every target the installed moto lacks or reshaped."""
    composed = {slot: _compose(slot) for slot in (_layers if slots is None else slots)}
    problems = [problem for _, found in composed.values() for problem in found]
    if problems:
        tested = f"moto{','.join(TESTED_MOTO)}"
        raise MotoNotSupported(
            f"moto {_version()} is not supported by this emulator (tested: {tested}): {'; '.join(problems)}"
        )
    return {slot: value for slot, (value, _) in composed.items()}


@contextlib.contextmanager
def held() -> Iterator[None]:
    """:func:`apply` does nothing inside, so that the :func:`apply` after it checks every change before making any."""
    _hold[0] += 1
    try:
        yield
    finally:
        _hold[0] -= 1


def apply() -> None:
    """Check every change declared since the last apply, then make them (idempotent)."""
    if _hold[0]:
        return
    for slot, value in check(sorted(_dirty)).items():
        patch = _layers[slot][-1]
        if patch.kind == "entry":
            container = getattr(patch.target(), patch.name)
            for k in patch.key[:-1]:
                container = container[k]
            _entries.setdefault(slot, (container, patch.key[-1], container.get(patch.key[-1], _MISSING)))
            container[patch.key[-1]] = value
        elif patch.kind == "subclass" and patch.refresh:
            patch.refresh()
        elif patch.kind != "subclass":
            setattr(patch.target(), patch.name, value)
        _dirty.discard(slot)


def restore() -> None:
    """Undo what :func:`apply` made and forget every declaration: moto's functions, methods and dicts are
    moto's again. For a process that installs the emulator's plug-ins for a while and then runs plain moto
    (the tests install some in process). A declared subclass stays one while its module is imported."""
    for (owner, name), original in _originals.items():
        target = Patch(owner, name, None, "replace", "", "").target()
        if name in vars(target):
            delattr(target, name)  # ours; moto's own is set again below, an inherited one shows through
        getter = inspect.getattr_static if isinstance(target, type) else getattr
        if original is not _MISSING and getter(target, name, _MISSING) is not original:
            setattr(target, name, original)
    for container, key, original in _entries.values():
        if original is _MISSING:
            container.pop(key, None)
        else:
            container[key] = original
    for patch in registered():
        if patch.kind == "subclass" and patch.refresh:
            patch.refresh()
    for state in (_layers, _originals, _entries, _dirty):
        state.clear()
