"""Regenerate README.md's pipeline diagram from a synthesized template (``make diagram``).

.venv/bin/python scripts/update_readme_diagram.py cdk.out/SmConstructsReference.template.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from sm_constructs.diagram import definitions_in_template, to_mermaid

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- diagram:start -->\n```mermaid\n).*?(```\n<!-- diagram:end -->)", re.S)
#: The deployment of approved versions (ModelDeployment), drawn the same way.
DEPLOYMENT_BLOCK = re.compile(
    r"(<!-- deployment-diagram:start -->\n```mermaid\n).*?(```\n<!-- deployment-diagram:end -->)", re.S
)


def pipeline_diagram(template: dict) -> str:
    (asl,) = [a for a in definitions_in_template(template).values() if "QualityGate" in a.get("States", {})]
    return to_mermaid(asl)


def deployment_diagram(template: dict) -> str:
    (asl,) = [a for a in definitions_in_template(template).values() if "ReadApproval" in a.get("States", {})]
    return to_mermaid(asl)


def main(argv: list[str]) -> int:
    template = json.loads(Path(argv[0]).read_text())
    text = README.read_text()
    updated = BLOCK.sub(lambda m: m.group(1) + pipeline_diagram(template) + m.group(2), text)
    updated = DEPLOYMENT_BLOCK.sub(lambda m: m.group(1) + deployment_diagram(template) + m.group(2), updated)
    README.write_text(updated)
    print("README.md diagram", "updated" if updated != text else "unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
