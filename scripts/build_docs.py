"""Build the guides and the API reference into one static site (``make docs``): docs/site/index.html.

pdoc renders both. The README and each guide in docs/ become the docstring of a page module of a
generated ``guides`` package (README is ``guides``, docs/caching.md is ``guides.caching``), with their
links between each other rewritten to the pages; pdoc then renders ``guides`` beside ``sm_constructs``
with one navigation and one search index. Nothing is fetched: the site works offline (Mermaid
diagrams show as their source, since drawing them would load mermaid.js from a CDN).

.venv/bin/python scripts/build_docs.py [--out docs/site]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
#: A markdown link or image target: ``](target)``.
LINK = re.compile(r"\]\(([^)\s]+)\)")


def page_name(guide: Path) -> str:
    """The page module of a guide: docs/multi-account.md is ``multi_account``."""
    return guide.stem.replace("-", "_")


def rewrite_links(text: str, *, from_readme: bool, repository: str | None) -> str:
    """Point links between README and guides at their pages; other repository files at the repository
    (``repository``, else the checkout the site was built in: docs/site/ lies two levels below it)."""
    base = repository or ("../.." if from_readme else "../../..")

    def target(match: re.Match[str]) -> str:
        link = match.group(1)
        if re.match(r"^[a-z]+:", link) or link.startswith("#"):
            return match.group(0)
        path, _, anchor = link.partition("#")
        anchor = f"#{anchor}" if anchor else ""
        resolved = ((ROOT if from_readme else DOCS) / path).resolve()
        prefix = "" if from_readme else "../"
        if resolved == ROOT / "README.md":
            page = f"{prefix}guides.html"
        elif resolved.parent == DOCS and resolved.suffix == ".md":
            page = f"{prefix}guides/{page_name(resolved)}.html"
        else:  # a source file: link to it in the repository
            return f"]({base}/{resolved.relative_to(ROOT)}{anchor})"
        return f"]({page}{anchor})"

    return LINK.sub(target, text)


def page_module(text: str) -> str:
    return f"{text!r}\n"  # the module's docstring is the guide


def build(out: Path, repository: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "guides"
        package.mkdir()
        readme = (ROOT / "README.md").read_text()
        (package / "__init__.py").write_text(
            page_module(rewrite_links(readme, from_readme=True, repository=repository))
        )
        for guide in sorted(DOCS.glob("*.md")):
            text = rewrite_links(guide.read_text(), from_readme=False, repository=repository)
            (package / f"{page_name(guide)}.py").write_text(page_module(text))
        if out.exists():
            shutil.rmtree(out)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, str(ROOT), os.environ.get("PYTHONPATH", "")])}
        subprocess.run(
            [sys.executable, "-m", "pdoc", "-o", str(out), "guides", "sm_constructs"],
            cwd=ROOT,
            env=env,
            check=True,
        )
    print(f"docs site: {out / 'index.html'} (guides: {out / 'guides.html'})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS / "site")
    parser.add_argument("--repository", help="base URL of repository files the guides link to (default: this checkout)")
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.repository)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
