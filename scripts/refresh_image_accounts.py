"""Regenerate sm_constructs/data/image_accounts.json from SageMaker's published image registry data.

The SageMaker Python SDK ships the registry accounts of its built-in images as JSON
(``sagemaker/image_uri_config/*.json``). This script downloads the pinned SDK wheel from PyPI (no
install), reads those files and writes the per-region account table and supported versions that
``sm_constructs.images`` turns into a ``CfnMapping``.

    .venv/bin/python scripts/refresh_image_accounts.py [--sdk-version 2.257.7]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "sm_constructs" / "data" / "image_accounts.json"

#: family -> (config file, scope, tag format). Tags follow the SDK: sklearn "<v>-cpu-py3",
#: spark "<v>-cpu-<py>", xgboost "<v>".
FAMILIES = {
    "sklearn": ("sklearn", "training", "{version}-cpu-py3"),
    "spark": ("spark", "processing", "{version}-cpu-{py}"),
    "xgboost": ("xgboost", "training", "{version}"),
}


def load_configs(sdk_version: str) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"sagemaker=={sdk_version}", "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("sagemaker-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            return {
                name: json.loads(zf.read(f"sagemaker/image_uri_config/{name}.json"))
                for name in {cfg for cfg, _, _ in FAMILIES.values()}
            }


def build(configs: dict[str, dict], sdk_version: str) -> dict:
    regions: dict[str, dict[str, str]] = {}
    families: dict[str, dict] = {}
    for family, (cfg, scope, tag) in FAMILIES.items():
        versions = configs[cfg][scope]["versions"]
        # Keep the versions served from the newest version's registry table (one account per region).
        newest = list(versions)[-1]
        table = versions[newest]["registries"]
        repository = versions[newest]["repository"]
        tags = {}
        for version, spec in versions.items():
            if spec.get("registries") != table or spec.get("repository") != repository:
                continue
            py = (spec.get("py_versions") or ["py3"])[-1]
            tags[version] = tag.format(version=version, py=py)
        families[family] = {"repository": repository, "tags": tags, "default_version": newest}
        for region, account in table.items():
            regions.setdefault(region, {})[family] = account
    return {
        "source": f"sagemaker {sdk_version} (PyPI), sagemaker/image_uri_config",
        "families": families,
        "regions": dict(sorted(regions.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdk-version", default="2.257.7")
    args = parser.parse_args()
    data = build(load_configs(args.sdk_version), args.sdk_version)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({len(data['regions'])} regions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
