"""State machine definitions stored as S3 file assets (``definition_in_s3``): the template carries only
``DefinitionS3Location`` and ``DefinitionSubstitutions``, and everything that reads definitions still
reads them: SageMakerChecks, botocore's model of every SageMaker request, the IAM trace of
tests/test_iam_facts.py, cfn-lint (the emulator: tests/test_local_definitions.py).

One reference app with two pipelines (definitions in S3, the second sharing the first's key, topic
and log group) is synthesized for the module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("definitions-in-s3")  # one synthesized app for the module's tests

# ---- the reference app with two pipelines: definitions in S3, the second sharing the first's parts ----


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    from support import new_app

    import app as reference

    out = tmp_path_factory.mktemp("cdk.out")
    app = new_app(outdir=str(out))
    stack = reference.build(app, pipelines=2, nag=False)
    assembly = Path(app.synth().directory)
    template = json.loads((assembly / "SmConstructsReference.template.json").read_text())
    return app, stack, assembly, template


@pytest.fixture(scope="module")
def inlined(synthesized):
    from sfn_requests import inline_definitions

    _, _, assembly, template = synthesized
    return inline_definitions(template, assembly)


def _machines(stack):
    from sm_constructs.state_machine import MlStateMachine

    return [c for c in stack.node.find_all() if isinstance(c, MlStateMachine)]


def test_every_definition_is_an_s3_asset_that_deploys_the_inline_definition(synthesized, inlined):
    """File + substitutions, substituted as CloudFormation does, give exactly the definition aws-cdk rendered."""
    _, stack, _, template = synthesized
    machines = _machines(stack)
    assert len(machines) == 5  # two build pipelines, two releases, the tuning pipeline
    for machine in machines:
        cfn = machine.resource.node.default_child
        logical_id = stack.resolve(cfn.logical_id)
        props = template["Resources"][logical_id]["Properties"]
        assert "DefinitionString" not in props and set(props["DefinitionS3Location"]) == {"Bucket", "Key"}
        assert machine.definition_asset is not None and props["DefinitionS3Location"]["Key"].endswith(".json")
        rendered = stack.resolve(cfn.definition_string)
        deployed = inlined["Resources"][logical_id]["Properties"]["DefinitionString"]
        assert _joined(deployed) == _joined(rendered), machine.node.path
        assert 0 < machine.definition_size() < 1024 * 1024


def _joined(body):
    if isinstance(body, str):
        return body
    return "".join(p if isinstance(p, str) else json.dumps(p, sort_keys=True) for p in body["Fn::Join"][1])


def test_sagemaker_checks_read_every_definition_from_its_asset(synthesized):
    from support import sagemaker_findings

    from sm_constructs.nag._rule import Context

    app, stack, assembly, _ = synthesized
    assert sagemaker_findings(app) == {}  # StateMachineReadable among them, had a definition gone unread
    context = Context(vpc_only=False)
    context.use_templates([str(assembly / "SmConstructsReference.template.json")])
    for machine in _machines(stack):
        read = context.machine(machine.resource.node.default_child)
        assert read.asl is not None, read.unreadable
        assert read.tasks, machine.node.path  # each workflow calls SageMaker


def test_every_sagemaker_request_is_valid(inlined):
    from sfn_requests import assert_all_requests_valid

    assert_all_requests_valid(inlined, expect_at_least=20)


def test_every_role_is_granted_what_its_definition_calls_and_nothing_else(inlined):
    """The IAM trace of tests/test_iam_facts.py on S3 definitions and on workflows sharing key, topic and logs."""
    from sfn_requests import state_machines
    from test_iam_facts import _actions, documented_actions, role_statements

    machines = state_machines(inlined)
    assert len(machines) == 5
    for logical_id, asl in machines.items():
        state_machine = inlined["Resources"][logical_id]
        role = state_machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
        granted = {a.lower() for s in role_statements(inlined, role) if s["Effect"] == "Allow" for a in _actions(s)}
        needed = documented_actions(state_machine, asl)
        assert sorted(granted - set(needed)) == [], f"{logical_id}: granted but needed by no documented call"
        assert sorted(set(needed) - granted) == [], f"{logical_id}: needed by a documented call but not granted"


def test_template_is_cfn_lint_clean(synthesized):
    from support import cfn_lint

    assert cfn_lint(synthesized[3]) == []


def test_a_definition_with_a_literal_substitution_marker_is_refused():
    from aws_cdk import App, Stack
    from aws_cdk import aws_stepfunctions as sfn

    from sm_constructs import MlStateMachine

    stack = Stack(App(), "Literal")
    step = sfn.Pass(stack, "Step", result=sfn.Result.from_object({"text": "${Looks.Like.A.Variable}"}))
    MlStateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(step), definition_in_s3=True)
    with pytest.raises(Exception, match=r"MlStateMachine 'Literal/Machine': definition_in_s3=True .* '\$\{'"):
        stack.node.root.synth()
