"""Regenerate sm_constructs/data/cfn_name_limits.json from CloudFormation's resource schemas.

When a template gives a resource no name, CloudFormation generates one and keeps it within what the
type accepts. The limit is the ``maxLength`` of the type's name property in its CloudFormation
registry schema; cfn-lint ships those schemas (``cfnlint/data/schemas``, the same data its own
checks read). This script writes, for every type whose name moto's CloudFormation generates, the
``maxLength`` of that name property, read through cfn-lint's schema manager:

    python scripts/refresh_cfn_name_limits.py            # or --print: to standard output

``tests/test_local_cfn_names.py`` checks that the committed file is what this script writes with the
installed cfn-lint and moto.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "sm_constructs" / "data" / "cfn_name_limits.json"
#: The schemas of one Region: name limits do not differ between Regions where a type exists.
REGION = "us-east-1"
#: Past this a pattern counts as unbounded.
_CEILING = 2048


def name_properties() -> dict[str, str]:
    """Each CloudFormation type moto can create, and the property that holds its name (moto's own map)."""
    from moto.cloudformation.parsing import get_model_list, get_name_type_map

    named = {str(k): str(v) for k, v in get_name_type_map().items() if v}
    for model in get_model_list():
        if not model.__module__.startswith("moto."):  # the emulator's own types, once it has started here
            continue
        name = model.cloudformation_name_type()
        if name:
            named[model.cloudformation_type()] = name
    return dict(sorted(named.items()))


def longest_name(prop: dict[str, Any]) -> int | None:
    """The longest generated-looking name (letters, digits, ``-``) the property accepts: its ``maxLength``,
    or where it has none the bound its ``pattern`` sets (Lambda's ``[a-zA-Z0-9_-]{1,64}``); None if unbounded."""
    top = prop.get("maxLength")
    pattern = re.compile(prop["pattern"]) if "pattern" in prop else None
    if pattern is None:
        return None if top is None else int(top)
    ceiling = int(top) if top is not None else _CEILING
    fits = [n for n in range(1, ceiling + 1) if pattern.fullmatch(_generated(n))]
    if not fits or (top is None and fits[-1] == _CEILING):
        return None if top is None else int(top)
    return fits[-1]


def _generated(length: int) -> str:
    return ("Stack-Logical-" * length)[: length - 1] + "A"


def limits() -> dict[str, Any]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    found: dict[str, dict[str, Any]] = {}
    for resource_type, prop in name_properties().items():
        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
        except ResourceNotFoundError:
            continue
        properties = schema.get("properties", {})
        if prop not in properties:  # moto names some by type (StateMachine): the schema's <Type>Name
            prop = f"{resource_type.rsplit('::', 1)[-1]}Name"
        top = longest_name(properties.get(prop) or {})
        if top is not None:
            found[resource_type] = {"property": prop, "maxLength": top}
    return {
        "source": f"CloudFormation registry schemas of {REGION}, as cfn-lint {metadata.version('cfn-lint')} ships "
        f"them; the types and name properties moto {metadata.version('moto')} generates names for",
        "types": found,
    }


def render() -> str:
    return json.dumps(limits(), indent=1, sort_keys=True) + "\n"


def main() -> int:
    if sys.argv[1:] == ["--print"]:  # what would be written, for the test that compares
        sys.stdout.write(render())
        return 0
    OUT.write_text(render())
    print(f"wrote {OUT} ({len(limits()['types'])} types)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
