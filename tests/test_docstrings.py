"""Every public prop is documented in its class's docstring, with its default when it has one.

For each class in ``sm_constructs.__all__``, every parameter of its constructor (after ``scope``
and ``id``) needs a ``:param <name>:`` entry in the class docstring (or the constructor's), and an
optional one says what it defaults to ("Default: ..."). A prop added without its documentation fails.
"""

import inspect
import re

import pytest

import sm_constructs

_SKIP = {"self", "scope", "id"}


def _public_classes() -> list[str]:
    return sorted(n for n in sm_constructs.__all__ if inspect.isclass(getattr(sm_constructs, n)))


def param_docs(cls: type) -> dict[str, str]:
    """``name -> text`` of each ``:param name:`` entry in the class and constructor docstrings."""
    init_doc = cls.__init__.__doc__ if cls.__init__ is not object.__init__ else ""
    doc = inspect.cleandoc(cls.__doc__ or "") + "\n\n" + inspect.cleandoc(init_doc or "")
    entries = re.finditer(r"^:param (\w+):(.*?)(?=^:param |^\s*$|\Z)", doc, re.M | re.S)
    return {m.group(1): " ".join(m.group(2).split()) for m in entries}


def undocumented(cls: type) -> list[str]:
    """The constructor's props without an entry, or whose entry does not give the default."""
    docs = param_docs(cls)
    problems = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in _SKIP or p.name.startswith("_") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name not in docs:
            problems.append(f"{p.name}: not documented")
        elif p.default is not p.empty and "default" not in docs[p.name].lower():
            problems.append(f"{p.name}: the default ({p.default!r}) is not given")
    return problems


@pytest.mark.parametrize("name", _public_classes())
def test_every_prop_is_documented_with_its_default(name):
    assert undocumented(getattr(sm_constructs, name)) == []


def test_the_check_sees_a_missing_prop_and_a_missing_default():
    class Documented:
        """A class.

        :param kept: documented. Default: 1.
        :param unclear: documented, but not its value when omitted.
        """

        def __init__(self, *, kept: int = 1, unclear: int = 2, forgotten: int = 3) -> None: ...

    assert undocumented(Documented) == [
        "unclear: the default (2) is not given",
        "forgotten: not documented",
    ]
