"""Regenerate sm_constructs/data/image_accounts.json from SageMaker's published image registry data.

The SageMaker Python SDK ships the registry accounts of its built-in images as JSON: in SDK v3 in
the ``sagemaker-core`` package (``sagemaker/core/image_uri_config/*.json``), in SDK v2 in
``sagemaker`` itself (``sagemaker/image_uri_config/*.json``). This script downloads one pinned
wheel from PyPI with ``pip download --no-deps`` (nothing is installed), reads those files and
writes the per-region account table and the supported versions and image tags that
``sm_constructs.images`` renders as a ``CfnMapping``.

    python scripts/refresh_image_accounts.py                       # the pinned sagemaker-core
    python scripts/refresh_image_accounts.py --package sagemaker==2.257.7

Tags are built exactly as the SDK's ``image_uris.retrieve`` builds them for a CPU instance and no
explicit Python version: ``<version>[-<processor>][-<py>]``, where the processor is given when
the config lists one (``cpu``) and the Python version when the config lists exactly one (Spark is
the SDK's exception: no Python version unless asked, so its tag is ``3.5-cpu``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "sm_constructs" / "data" / "image_accounts.json"

#: The package the committed data comes from (SDK v3 layout).
DEFAULT_PACKAGE = "sagemaker-core==2.27.0"
#: Where each SDK layout keeps the registry JSON, tried in order.
CONFIG_DIRS = ("sagemaker/core/image_uri_config", "sagemaker/image_uri_config")

#: family -> (config file, image scope). Processing with scikit-learn uses the training scope, as the SDK does.
FAMILIES = {
    "sklearn": ("sklearn", "training"),
    "spark": ("spark", "processing"),
    "xgboost": ("xgboost", "training"),
    # Model Monitor's analyzer (data-quality baselines and monitoring schedules): the SDK's
    # DefaultModelMonitor retrieves framework "model-monitor"; its config has one unnamed version.
    # (The family key is a CloudFormation mapping attribute name: alphanumeric only.)
    "modelmonitor": ("model-monitor", "monitoring"),
}
#: The SDK gives the analyzer image no tag (ECR then serves ``latest``); the mapping names it.
UNTAGGED = "latest"


def _pip() -> list[str]:
    """A pip to download with: this interpreter's, else the one on PATH (uv venvs ship without pip)."""
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        found = shutil.which(name)
        if found:
            return [found]
    raise SystemExit("pip is needed to download the SDK wheel (python -m pip, pip3 or pip)")


def load_configs(package: str) -> tuple[dict[str, Any], str, str]:
    """Download ``package`` and return (family configs, exact package version, config dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*_pip(), "download", "--no-deps", "--only-binary=:all:", "-q", package, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        version = wheel.name.split("-")[1]
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            for folder in CONFIG_DIRS:
                if f"{folder}/sklearn.json" in names:  # every family's config is in the same folder
                    configs = {cfg: json.loads(zf.read(f"{folder}/{cfg}.json")) for cfg, _ in FAMILIES.values()}
                    return configs, version, folder
    raise SystemExit(f"{package}: no image_uri_config folder ({', '.join(CONFIG_DIRS)}) in the wheel")


def _tag(family: str, version: str, config: dict[str, Any], spec: dict[str, Any]) -> str:
    processors = config.get("processors") or spec.get("processors") or []
    processor = "cpu" if "cpu" in processors else None
    py_versions = spec.get("py_versions") or []
    py = py_versions[0] if len(py_versions) == 1 and family != "spark" else None
    return "-".join(part for part in (spec.get("tag_prefix", version), processor, py) if part)


def build(configs: dict[str, Any], package: str, version: str, folder: str) -> dict[str, Any]:
    regions: dict[str, dict[str, str]] = {}
    families: dict[str, Any] = {}
    for family, (cfg, scope) in FAMILIES.items():
        # Framework configs have a section per scope; model-monitor lists its scopes instead.
        config = configs[cfg][scope] if scope in configs[cfg] else configs[cfg]
        versions: dict[str, Any] = config["versions"]
        # The SDK's legacy XGBoost "1" lives in another repository: keep the family to one repository.
        repository = list(versions.values())[-1]["repository"]
        table: dict[str, str] | None = None
        entries: dict[str, Any] = {}
        for name, spec in versions.items():
            if spec.get("repository") != repository:
                continue
            if table is None:
                table = spec["registries"]
            elif spec["registries"] != table:
                # One account per region and family is what a mapping can hold; fail loudly if AWS ever splits it.
                raise SystemExit(f"{cfg}.json {scope} {name}: registry accounts differ from other versions")
            entry: dict[str, Any] = {"tag": _tag(family, name, config, spec) if name else UNTAGGED}
            if family == "spark":
                entry["py_versions"] = spec.get("py_versions") or []
            entries[name or UNTAGGED] = entry
        assert table is not None
        families[family] = {"repository": repository, "scope": scope, "versions": entries}
        for region, account in table.items():
            regions.setdefault(region, {})[family] = account
    return {
        "source": {"package": package.split("==")[0], "version": version, "path": folder},
        "families": families,
        "regions": dict(sorted(regions.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--package", default=DEFAULT_PACKAGE, help=f"pip requirement (default {DEFAULT_PACKAGE})")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    configs, version, folder = load_configs(args.package)
    data = build(configs, args.package, version, folder)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {args.out} from {data['source']['package']} {version} ({len(data['regions'])} regions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
