"""Redraw the reference app's diagrams in the guides from a synthesized template (``make diagram``).

The build pipeline is drawn in docs/reference-app.md, the deployment of approved versions in docs/releases.md.

.venv/bin/python scripts/update_diagrams.py cdk.out/SmConstructsReference.template.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from sm_constructs.diagram import definitions_in_template, to_mermaid

DOCS = Path(__file__).resolve().parent.parent / "docs"
PIPELINE_GUIDE = DOCS / "reference-app.md"
DEPLOYMENT_GUIDE = DOCS / "releases.md"
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
    for guide, block, diagram in (
        (PIPELINE_GUIDE, BLOCK, pipeline_diagram(template)),
        (DEPLOYMENT_GUIDE, DEPLOYMENT_BLOCK, deployment_diagram(template)),
    ):
        text = guide.read_text()
        updated = block.sub(lambda m, d=diagram: m.group(1) + d + m.group(2), text)
        guide.write_text(updated)
        print(f"{guide.relative_to(DOCS.parent)} diagram", "updated" if updated != text else "unchanged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
