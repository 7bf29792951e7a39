"""The registry of changes to moto: checked against the installed moto, and the only way moto is changed."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
import types
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from sm_constructs.local import patches

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "sm_constructs" / "local"

# Declares every change Emulator.start makes, without starting it, and reports what the registry holds.
_DECLARE_ALL = """
import json, sys, tempfile
from pathlib import Path
from sm_constructs.local import patches, server

server.declare_changes(Path(tempfile.mkdtemp()))
json.dump([[p.by, p.kind, p.where] for p in patches.registered()], sys.stdout)
"""


@pytest.fixture(scope="module")
def declared() -> list[list[str]]:
    done = subprocess.run([sys.executable, "-c", _DECLARE_ALL], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return list(json.loads(done.stdout))


def test_every_change_the_emulator_declares_fits_the_installed_moto(declared):
    assert len(declared) >= 40  # every module's changes (the next test names the modules)
    assert {kind for _, kind, _ in declared} == {"replace", "wrap", "add", "entry", "subclass"}


def test_every_module_that_changes_moto_declares_its_changes_to_the_registry(declared):
    declaring = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in LOCAL.rglob("*.py")
        if path.name != "patches.py" and "patches." in path.read_text()
    }
    assert declaring <= {by for by, _, _ in declared}
    assert {"sm_constructs.local.server", "sm_constructs.local.iam.enforcement"} <= declaring


def _moto_names(tree: ast.AST) -> set[str]:
    """Names a module binds to moto's modules, classes and functions (``from moto.x import Y``, ``import moto.x``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names if a.name.split(".")[0] == "moto"}
    return names


_IN_PLACE = ("update", "setdefault", "cache_clear", "pop", "clear")


def _changes_to(names: set[str], tree: ast.AST) -> list[str]:
    """Assignments to, ``setattr`` on, and in-place changes of attributes of those names."""

    def root(node: ast.AST) -> str | None:
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        return node.id if isinstance(node, ast.Name) else None

    found = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            targets = [t for t in targets if isinstance(t, (ast.Attribute, ast.Subscript))]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            targets = node.args[:1]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _IN_PLACE:
            # moto's module-level tables and caches (data in moto's backends, reached by subscript, is state)
            changed = node.func.value
            targets = [changed] if isinstance(changed, ast.Attribute) and "[" not in ast.unparse(changed) else []
        found += [f"line {node.lineno}: {ast.unparse(node)[:80]}" for t in targets if root(t) in names]
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in sorted(LOCAL.rglob("*.py")) if p.name != "patches.py"],
    ids=lambda p: str(p.relative_to(LOCAL)),
)
def test_no_module_changes_moto_outside_the_registry(path):
    tree = ast.parse(path.read_text())
    assert _changes_to(_moto_names(tree), tree) == []


def test_the_scan_finds_a_direct_change():
    source = "from moto.sagemaker.models import B\nfrom moto.x import parsing\nimport moto.y\n"
    source += (
        "def install():\n    B.f = g\n    setattr(B, 'f', g)\n    parsing.get_map.cache_clear()\n    moto.y.C = 1\n"
    )
    tree = ast.parse(source)
    assert len(_changes_to(_moto_names(tree), tree)) == 4


@pytest.fixture
def registry(monkeypatch):
    """An empty registry and a stand-in for a moto module (``fake_moto``) with one class."""
    module = types.ModuleType("fake_moto")

    class Backend:
        def create_thing(self, name: str, tags: list[str]) -> str:
            return f"created {name}"

    module.Backend = Backend  # type: ignore[attr-defined]
    module.config = {"service": {"flag": False}}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_moto", module)
    for name, empty in (("_layers", {}), ("_originals", {}), ("_entries", {}), ("_dirty", set()), ("_hold", [0])):
        monkeypatch.setattr(patches, name, empty)
    return module


def _raises_naming(*words: str) -> None:
    with pytest.raises(patches.MotoNotSupported) as raised:
        patches.check()
    message = str(raised.value)
    assert f"moto {metadata.version('moto')} is not supported by this emulator" in message
    assert f"(tested: moto{','.join(patches.TESTED_MOTO)})" in message
    for word in words:
        assert word in message


def test_a_missing_target_is_named(registry):
    patches.replace("fake_moto:Backend", "delete_thing", lambda self, name: None, why="test")
    _raises_naming("fake_moto:Backend.delete_thing is missing")


def test_a_missing_owner_is_named(registry):
    patches.replace("fake_moto:Gone", "create_thing", lambda self, name, tags: None, why="test")
    _raises_naming("fake_moto:Gone is missing")


def test_a_reshaped_target_is_named(registry):
    patches.replace("fake_moto:Backend", "create_thing", lambda self, name: None, why="test")
    _raises_naming("fake_moto:Backend.create_thing takes tags")


def test_a_reordered_target_is_named(registry):
    patches.replace("fake_moto:Backend", "create_thing", lambda self, tags, name: None, why="test")
    _raises_naming("fake_moto:Backend.create_thing takes (self, name, tags) in an order")


def test_a_replacement_that_requires_what_moto_no_longer_passes_is_named(registry):
    patches.replace("fake_moto:Backend", "create_thing", lambda self, name, tags, region: None, why="test")
    _raises_naming("no longer takes region")


def test_an_added_target_moto_now_has_is_named(registry):
    patches.add("fake_moto:Backend", "create_thing", lambda self, name, tags: None, why="test")
    _raises_naming("fake_moto:Backend.create_thing now exists in moto")


def test_an_entry_in_a_dict_moto_no_longer_has_is_named(registry):
    patches.entry("fake_moto", "config", ("other", "flag"), True, why="test")
    _raises_naming("fake_moto.config['other']['flag']: moto has no such dict")


def test_a_subclass_of_a_reshaped_base_is_named(registry):
    class Thing(registry.Backend):
        def create_thing(self, name: str) -> str:  # type: ignore[override]
            return name

    patches.subclass("fake_moto:Backend", Thing, why="test")
    _raises_naming("fake_moto:Backend.create_thing takes tags")


def test_a_subclass_is_checked_with_its_mixins_and_a_classmethod_may_stand_for_a_staticmethod(registry):
    class Model:
        @staticmethod
        def kind() -> str:
            return "moto's"

        @classmethod
        def create(cls, name: str, template: dict[str, Any]) -> Any:
            return name

    registry.Model = Model

    class Named:
        @classmethod
        def kind(cls) -> str:
            return cls.__name__

    class Fits(Named, Model):
        pass

    patches.subclass("fake_moto:Model", Fits, why="test")
    patches.check()
    assert Fits.kind() == "Fits"

    class Reshaped:
        @classmethod
        def create(cls, name: str) -> Any:
            return name

    class Wrong(Reshaped, Model):
        pass

    patches.subclass("fake_moto:Model", Wrong, why="test")
    _raises_naming("fake_moto:Model.create takes template")


def _cloudformation_model() -> type:
    class Model:  # moto's hooks, by moto's names
        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> Any:
            return ("created", resource_name, cloudformation_json["Properties"], kwargs)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            return ("updated", original_resource, new_resource_name, cloudformation_json["Properties"])

    return Model


def test_cloudformation_hooks_are_functions_of_one_change_that_wrap_moto_s(registry):
    registry.Model = _cloudformation_model()
    seen = []
    patches.wrap_cloudformation(
        "fake_moto:Model",
        why="test",
        properties=lambda properties, account, region, logical_id: {**properties, "By": logical_id},
        made=lambda resource, properties, account: seen.append((resource[0], properties, account)),
    )
    patches.apply()
    created = registry.Model.create_from_cloudformation_json(
        "thing-1", {"Properties": {"A": 1}}, "111", "eu-west-1", LogicalId="Thing", StackId="stack"
    )
    assert created == ("created", "thing-1", {"A": 1, "By": "Thing"}, {"LogicalId": "Thing", "StackId": "stack"})
    old = types.SimpleNamespace(logical_resource_id="Thing")
    updated = registry.Model.update_from_cloudformation_json(
        original_resource=old,  # moto calls the update hook by keyword
        new_resource_name="thing-2",
        cloudformation_json={"Properties": {}},
        account_id="111",
        region_name="eu-west-1",
    )
    assert updated == ("updated", old, "thing-2", {"By": "Thing"})
    assert seen == [("created", {"A": 1, "By": "Thing"}, "111"), ("updated", {"By": "Thing"}, "111")]


def test_cloudformation_hooks_made_of_a_change_take_moto_s_parameters(registry):
    registry.Model = _cloudformation_model()
    for name, make in (("create", patches.creates), ("update", patches.updates)):
        patches.replace("fake_moto:Model", f"{name}_from_cloudformation_json", make(lambda cls, c: c), why="test")
    patches.apply()  # checked against moto's parameter names
    change = registry.Model.create_from_cloudformation_json("thing-1", {"Properties": {"A": 1}}, "111", "eu-west-1")
    assert (change.name, change.logical_id, change.properties, change.previous) == (
        "thing-1",
        "thing-1",
        {"A": 1},
        None,
    )
    with pytest.raises(TypeError, match="only a wrap"):
        change.original(registry.Model, {})
    old = types.SimpleNamespace(logical_resource_id="Thing")
    change = registry.Model.update_from_cloudformation_json(old, "thing-2", {}, "111", "eu-west-1")
    assert (change.name, change.logical_id, change.properties, change.previous) == ("thing-2", "Thing", {}, old)


def test_nothing_is_changed_when_one_target_is_wrong(registry):
    patches.replace("fake_moto:Backend", "create_thing", lambda self, name, tags: "ours", why="test")
    patches.add("fake_moto:Backend", "create_thing_v2", lambda self: None, why="test")
    patches.replace("fake_moto:Backend", "gone", lambda self: None, why="test")
    with pytest.raises(patches.MotoNotSupported):
        patches.apply()
    assert registry.Backend().create_thing("a", []) == "created a"
    assert not hasattr(registry.Backend, "create_thing_v2")


def test_wraps_stack_in_declaration_order_and_a_module_replaces_its_own(registry):
    def outer(original, self, name, tags):
        return f"outer({original(self, name, tags)})"

    patches.wrap("fake_moto:Backend", "create_thing", why="test")(lambda original, self, name, tags: "inner")
    declare_outer = "patches.wrap('fake_moto:Backend', 'create_thing', why='test')(outer)"
    exec(declare_outer, {"__name__": "another_module", "patches": patches, "outer": outer})
    patches.apply()
    assert registry.Backend().create_thing("a", []) == "outer(inner)"
    patches.wrap("fake_moto:Backend", "create_thing", why="test")(
        lambda original, self, name, tags: f"again({original(self, name, tags)})"
    )
    patches.apply()  # declared again by this module: its layer is replaced, not wrapped twice
    assert registry.Backend().create_thing("a", []) == "outer(again(created a))"
    patches.entry("fake_moto", "config", ("service", "flag"), True, why="test")
    patches.apply()
    patches.apply()
    assert registry.config == {"service": {"flag": True}}
    assert len(patches.registered()) == 3
    patches.check()  # checked against moto's own attributes, also once applied


def test_held_changes_wait_for_the_apply_after_them(registry):
    with patches.held():
        patches.replace("fake_moto:Backend", "create_thing", lambda self, name, tags: "ours", why="test")
        patches.apply()
        assert registry.Backend().create_thing("a", []) == "created a"
    patches.apply()
    assert registry.Backend().create_thing("a", []) == "ours"


def test_restore_gives_moto_back_what_apply_changed(registry):
    class Base:
        def inherited(self) -> str:
            return "base"

    registry.Backend = type("Backend", (Base,), dict(vars(registry.Backend)))
    patches.replace("fake_moto:Backend", "create_thing", lambda self, name, tags: "ours", why="test")
    patches.replace("fake_moto:Backend", "inherited", lambda self: "ours", why="test")
    patches.add("fake_moto:Backend", "create_thing_v2", lambda self: None, why="test")
    patches.entry("fake_moto", "config", ("service", "flag"), True, why="test")
    patches.entry("fake_moto", "config", ("service", "new"), 1, why="test")
    patches.apply()
    assert registry.Backend().inherited() == "ours"
    patches.restore()
    backend = registry.Backend()
    assert (backend.create_thing("a", []), backend.inherited()) == ("created a", "base")
    assert "inherited" not in vars(registry.Backend) and not hasattr(registry.Backend, "create_thing_v2")
    assert registry.config == {"service": {"flag": False}}
    assert patches.registered() == []


def test_tested_moto_is_the_range_pyproject_and_the_lock_ask_for():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = set(patches.TESTED_MOTO)
    groups = [project["project"]["optional-dependencies"][extra] for extra in ("local", "nag")]
    groups += list(project.get("dependency-groups", {}).values())
    motos = [Requirement(r) for group in groups for r in group if isinstance(r, str) and r.startswith("moto")]
    assert len(motos) >= 3
    assert all({str(s) for s in r.specifier} == wanted for r in motos), motos
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    (locked,) = [p for p in lock["package"] if p["name"] == "moto"]
    assert Version(locked["version"]) in motos[0].specifier
    assert Version(metadata.version("moto")) in motos[0].specifier


def test_every_binding_of_the_step_functions_client_factory_is_replaced(declared):
    """moto's modules import ``boto_client_for`` by name: each binding must act in the state machine's
    account (:mod:`sm_constructs.local.aws.stepfunctions_accounts`), or a call would go to the default one."""
    import moto.stepfunctions.parser as parser

    from sm_constructs.local.aws import stepfunctions_accounts

    root = Path(parser.__file__).parent
    binding = {
        "moto.stepfunctions.parser." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if "import boto_client_for" in path.read_text() or path.name == "boto_client.py"
    }
    assert binding == set(stepfunctions_accounts.IMPORTERS)
    replaced = {where.rsplit(".", 1)[0] for by, kind, where in declared if where.endswith(".boto_client_for")}
    assert replaced == binding


def test_kept_method_names_are_moto_s_and_follow_added_and_removed_methods():
    from moto.core.utils import method_names_from_class as moto_s
    from moto.sagemaker.responses import SageMakerResponse
    from moto.stepfunctions.responses import StepFunctionResponse

    from sm_constructs.local.server import method_names_from_class as ours

    for clazz in (SageMakerResponse, StepFunctionResponse):
        assert ours(clazz) == moto_s(clazz) and ours(clazz) is ours(clazz)  # the second from what was kept

    class Response(StepFunctionResponse):
        pass

    assert "describe_thing" not in ours(Response)
    Response.describe_thing = lambda self: "{}"  # type: ignore[attr-defined]
    assert "describe_thing" in ours(Response) and ours(Response) == moto_s(Response)
    del Response.describe_thing  # type: ignore[attr-defined]
    assert "describe_thing" not in ours(Response)
    StepFunctionResponse.added_to_a_base = lambda self: "{}"  # type: ignore[attr-defined]
    try:
        assert "added_to_a_base" in ours(Response)
    finally:
        del StepFunctionResponse.added_to_a_base  # type: ignore[attr-defined]
    assert ours(Response) == moto_s(Response)
