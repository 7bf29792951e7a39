"""checkov and the AWS Control Tower proactive controls (cfn-guard), run on synthesized templates.

* checkov (CloudFormation framework, offline with ``--skip-download``) runs from its own virtual
  environment, ``.tools/checkov`` (``make setup-scanners``): it pins its own boto3.
* The Control Tower proactive controls are the cfn-guard rules that
  ``cdklabs.cdk-validator-cfnguard`` bundles (``rules/control-tower/cfn-guard``), run with the
  cfn-guard binary it bundles too.

Both report ``Finding`` objects naming the resource by its logical id and construct path, so the
suppressions in ``scanner_suppressions.py`` can say which finding they accept and why.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
_CT_ID = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")
_RESOURCE_PATH = re.compile(r"^/Resources/([^/]+)")
#: A CloudFormation resource type as a Control Tower rule names it.
_RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")


@dataclass(frozen=True)
class Finding:
    scanner: str  # "checkov" or "controltower"
    rule: str  # CKV_AWS_18, CT.KMS.PR.3 ...
    template: str  # template file name
    logical_id: str
    cdk_path: str  # aws:cdk:path metadata of the resource ("" when absent)

    def __str__(self) -> str:
        return f"{self.scanner} {self.rule} {self.cdk_path or self.logical_id} ({self.template})"


def _cdk_path(template: dict[str, Any], logical_id: str) -> str:
    resource = template.get("Resources", {}).get(logical_id, {})
    return str(resource.get("Metadata", {}).get("aws:cdk:path", ""))


# ---- checkov -------------------------------------------------------------------------------------
def run_checkov(templates: Sequence[Path]) -> list[Finding]:
    """Failed checkov checks over ``templates`` (one checkov process for all of them)."""
    if not CHECKOV.exists():
        raise RuntimeError(f"checkov is not installed at {CHECKOV}: run `make setup-scanners`")
    args = [str(CHECKOV), "--framework", "cloudformation", "--skip-download", "--output", "json", "--compact"]
    args += ["--quiet"]
    for path in templates:
        args += ["--file", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError(f"checkov failed ({done.returncode}): {done.stderr[-2000:]}")
    reports = json.loads(done.stdout)
    by_name = {p.name: json.loads(p.read_text()) for p in templates}
    findings = []
    for report in reports if isinstance(reports, list) else [reports]:
        if report.get("results", {}).get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse {report['results']['parsing_errors']}")
        for failed in report.get("results", {}).get("failed_checks", []):
            name = Path(failed["file_path"]).name
            logical_id = failed["resource"].split(".", 1)[1]
            findings.append(
                Finding("checkov", failed["check_id"], name, logical_id, _cdk_path(by_name[name], logical_id))
            )
    return findings


def checkov_version() -> str:
    done = subprocess.run([str(CHECKOV), "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


# ---- Control Tower proactive controls (cfn-guard) ----------------------------------------------------
@cache
def guard_bundle() -> Path:
    """The cfn-guard binary and Control Tower rules shipped in ``cdklabs.cdk-validator-cfnguard``, unpacked once."""
    version = metadata.version("cdklabs.cdk-validator-cfnguard")
    target = ROOT / ".tools" / f"cdk-validator-cfnguard-{version}"
    if not (target / "package" / "rules").is_dir():
        import cdklabs.cdk_validator_cfnguard._jsii as bundled

        (tgz,) = Path(bundled.__file__).parent.glob("*.tgz")
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz) as archive:
            archive.extractall(target, filter="data")
    return target / "package"


def _guard_binary() -> Path:
    system = {"Linux": "ubuntu", "Darwin": "macos"}[platform.system()]
    machine = {"x86_64": "x86_64", "AMD64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}[platform.machine()]
    binary = guard_bundle() / "bin" / system / machine / "cfn-guard"
    binary.chmod(0o755)
    return binary


def _json_documents(text: str) -> Iterable[dict[str, Any]]:
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        document, index = decoder.raw_decode(text, index)
        yield document


def _walk(node: Any, rule: list[str], resources: set[str]) -> None:
    """Collect the Control Tower id and the failing resources of one cfn-guard rule report."""
    if isinstance(node, dict):
        message = (node.get("messages") or {}).get("custom_message") if isinstance(node.get("messages"), dict) else None
        if message and not rule:
            found = _CT_ID.search(message)
            if found:
                rule.append(found.group(1))
        path = node.get("path")
        if isinstance(path, str):
            match = _RESOURCE_PATH.match(path)
            if match:
                resources.add(match.group(1))
        for value in node.values():
            _walk(value, rule, resources)
    elif isinstance(node, list):
        for value in node:
            _walk(value, rule, resources)


def control_tower_rules(templates: Sequence[Path]) -> list[Path]:
    """The Control Tower rule files that can judge ``templates``: each selects the resources it checks by
    their type (``Resources.*[ Type == 'AWS::S3::Bucket' ]``), so a rule file naming only types that no
    template has passes them all. Those are left out (185 of 237 for the reference app: cfn-guard's CPU
    grows with rules × templates); a rule file that names no type literally is always kept."""
    present = {r["Type"] for p in templates for r in json.loads(p.read_text()).get("Resources", {}).values()}
    kept = []
    for rule in sorted((guard_bundle() / "rules" / "control-tower" / "cfn-guard").rglob("*.guard")):
        named = set(_RESOURCE_TYPE.findall(rule.read_text()))
        if not named or named & present:
            kept.append(rule)
    return kept


def run_control_tower(templates: Sequence[Path], rules: Sequence[Path] | None = None) -> list[Finding]:
    """Failed Control Tower proactive controls over ``templates``. Default ``rules``: those that can judge
    them (:func:`control_tower_rules`)."""
    args = [str(_guard_binary()), "validate", "--output-format", "json", "--show-summary", "none"]
    for rule in control_tower_rules(templates) if rules is None else rules:
        args += ["--rules", str(rule)]
    for path in templates:
        args += ["--data", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode not in (0, 19) or not done.stdout.strip():  # 19: some rule failed
        raise RuntimeError(f"cfn-guard failed ({done.returncode}): {done.stderr[-2000:]}")
    by_name = {p.name: json.loads(p.read_text()) for p in templates}
    findings = set()
    for document in _json_documents(done.stdout):
        if document.get("status") != "FAIL":
            continue
        name = Path(document["name"]).name
        for failed in document.get("not_compliant", []):
            rule: list[str] = []
            resources: set[str] = set()
            _walk(failed, rule, resources)
            rule_name = rule[0] if rule else str((failed.get("Rule") or {}).get("name"))
            for logical_id in resources or {"<template>"}:
                findings.add(Finding("controltower", rule_name, name, logical_id, _cdk_path(by_name[name], logical_id)))
    return sorted(findings, key=str)
