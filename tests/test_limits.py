"""CloudFormation's template body limit fails synth, before a deploy would."""

import pytest
from aws_cdk import Stack
from aws_cdk import aws_stepfunctions as sfn
from support import new_app

from sm_constructs import MlStateMachine
from sm_constructs._limits import MAX_TEMPLATE_BYTES, check_template_size


def _app_with_state_machine(tmp_path, limit=None):
    app = new_app(outdir=str(tmp_path))
    stack = Stack(app, "Big")
    if limit is not None:
        check_template_size(stack, limit=limit)
    MlStateMachine(stack, "Sm", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "P")))
    return app


def test_a_template_over_the_limit_fails_synth_naming_the_stack(tmp_path):
    app = _app_with_state_machine(tmp_path, limit=2000)
    with pytest.raises(RuntimeError) as error:
        app.synth()
    message = str(error.value)
    assert "Stack 'Big': template is " in message
    assert "over CloudFormation's limit of 2,000 bytes" in message
    assert "without indentation" in message and "store state machine definitions in S3" in message
    assert "put fewer pipelines in one stack" in message


def test_under_the_limit_synthesizes_with_two_state_machines(tmp_path):
    assert MAX_TEMPLATE_BYTES == 1_000_000  # the body limit cfn-lint's E1002 also checks
    app = _app_with_state_machine(tmp_path)
    MlStateMachine(
        app.node.find_child("Big"),
        "Second",
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(app.node.find_child("Big"), "Q")),
    )
    app.synth()  # under the limit: passes
    report = tmp_path / "validation-report.json"
    assert not report.exists() or "TemplateSize" not in report.read_text()
