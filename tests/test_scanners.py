"""checkov and the AWS Control Tower proactive controls on every app in scanned_apps.py.

Zero findings except those suppressed, each with its reason, in scanner_suppressions.py; a
suppression that matches nothing any more fails too, so the list never outgrows the findings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scanned_apps import SCANNED_APPS
from scanner_suppressions import SUPPRESSIONS
from scanners import Finding, control_tower_rules, guard_bundle, run_checkov, run_control_tower
from support import new_app

pytestmark = pytest.mark.xdist_group("scanners")


@pytest.fixture(scope="session")
def templates(tmp_path_factory, reference_assembly) -> list[Path]:
    paths: list[Path] = sorted(reference_assembly.glob("*.template.json"))  # app.py, as `make synth` makes it
    assert paths, reference_assembly
    for name, build in SCANNED_APPS.items():
        out = tmp_path_factory.mktemp(f"scan-{name}")
        # The CDK CLI adds aws:cdk:path metadata; suppressions name resources by that path.
        app = new_app(outdir=str(out), **{"aws:cdk:enable-path-metadata": True})
        build(app)
        app.synth()
        found = sorted(out.glob("*.template.json"))
        assert found, name
        paths.extend(found)
    names = [p.name for p in paths]
    assert len(names) == len(set(names)), f"two scanned apps synthesize the same stack name: {names}"
    return paths


@pytest.fixture(scope="session")
def findings(templates) -> dict[str, list[Finding]]:
    return {"checkov": run_checkov(templates), "controltower": run_control_tower(templates)}


def _unexplained(found: list[Finding]) -> list[str]:
    return [str(f) for f in found if not any(s.matches(f) for s in SUPPRESSIONS)]


def test_checkov_reports_nothing_unexplained(findings):
    assert _unexplained(findings["checkov"]) == []


def test_control_tower_controls_report_nothing_unexplained(findings):
    assert _unexplained(findings["controltower"]) == []


def test_every_suppression_still_matches_a_finding(findings):
    everything = findings["checkov"] + findings["controltower"]
    stale = [s for s in SUPPRESSIONS if not any(s.matches(f) for f in everything)]
    assert stale == []


def test_every_suppression_says_why():
    for suppression in SUPPRESSIONS:
        assert len(suppression.reason) > 30, suppression


def test_the_scanners_can_fail(tmp_path):
    """Each scanner flags a known-bad template: a KMS key without CT.KMS.PR.3's statement, an unencrypted bucket."""
    import json

    bad = tmp_path / "Bad.template.json"
    bad.write_text(
        json.dumps(
            {
                "Resources": {
                    "Key": {
                        "Type": "AWS::KMS::Key",
                        "Properties": {
                            "EnableKeyRotation": True,
                            "KeyPolicy": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}
                                ],
                            },
                        },
                    },
                    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
                }
            }
        )
    )
    found = run_control_tower([bad])
    assert {f.rule for f in found} >= {"CT.KMS.PR.3", "CT.S3.PR.10"}
    # the rules left out (they name only types the template does not have) would have found nothing more
    every_rule = sorted((guard_bundle() / "rules" / "control-tower" / "cfn-guard").rglob("*.guard"))
    assert len(control_tower_rules([bad])) < len(every_rule)
    assert run_control_tower([bad], every_rule) == found
    assert {f.rule for f in run_checkov([bad])} >= {"CKV_AWS_33", "CKV_AWS_18"}
