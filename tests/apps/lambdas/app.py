"""Lambda functions and Lambda-backed custom resources as users' apps hold them (tests/test_local_lambda.py).

* ``Network``: an ``MlVpc`` with aws-cdk defaults, so aws-cdk-lib's ``Custom::VpcRestrictDefaultSG``
  (a Node.js handler that needs the runtime's AWS SDK) revokes the default security group's rules;
* ``Functions``: a Python and a Node.js function, a state machine that calls the Python one with
  ``LambdaInvoke``, and a custom resource whose Python handler records each request in SSM (an SSM
  parameter holds the ``Said`` attribute it returns);
* ``Broken``: a custom resource backed by a Java function, which the emulator cannot run.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from sm_constructs.network import MlVpc

ECHO = """
def handler(event, context):
    return {"echo": event, "function": context.function_name}
"""

LIST_BUCKETS = """
const { S3 } = require("@aws-sdk/client-s3");
exports.handler = async (event) => {
  const { Buckets } = await new S3({}).listBuckets({});
  return { buckets: Buckets.map((b) => b.Name).sort(), event };
};
"""

# cfnresponse is the module Lambda provides to inline Python code
RECORDER = """
import json
import boto3
import cfnresponse

def handler(event, context):
    props = event["ResourceProperties"]
    boto3.client("ssm").put_parameter(
        Name="/recorded/" + event["RequestType"], Value=json.dumps(props), Type="String", Overwrite=True
    )
    cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Said": props["Greeting"]}, "recorded-" + props["Greeting"])
"""

app = cdk.App()

network = cdk.Stack(app, "Network")
MlVpc(network, "Vpc")

functions = cdk.Stack(app, "Functions")
echo = lambda_.Function(
    functions, "Echo", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler", code=lambda_.Code.from_inline(ECHO)
)
list_buckets = lambda_.Function(
    functions,
    "ListBuckets",
    runtime=lambda_.Runtime.NODEJS_22_X,
    handler="index.handler",
    code=lambda_.Code.from_inline(LIST_BUCKETS),
    timeout=cdk.Duration.seconds(30),
)
list_buckets.add_to_role_policy(iam.PolicyStatement(actions=["s3:ListAllMyBuckets"], resources=["*"]))
sfn.StateMachine(
    functions,
    "CallEcho",
    definition_body=sfn.DefinitionBody.from_chainable(
        tasks.LambdaInvoke(functions, "Echo it", lambda_function=echo, payload_response_only=True)
    ),
)
recorder = lambda_.Function(
    functions,
    "Recorder",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_inline(RECORDER),
    timeout=cdk.Duration.seconds(30),
)
recorder.add_to_role_policy(
    iam.PolicyStatement(
        actions=["ssm:PutParameter"], resources=[functions.format_arn(service="ssm", resource="parameter/recorded/*")]
    )
)
recorded = cdk.CustomResource(
    functions, "Recorded", service_token=recorder.function_arn, properties={"Greeting": "hello"}
)
ssm.StringParameter(functions, "Said", parameter_name="/said", string_value=recorded.get_att_string("Said"))

broken = cdk.Stack(app, "Broken")
java = lambda_.Function(
    broken,
    "Java",
    runtime=lambda_.Runtime.JAVA_21,
    handler="example.Handler::handleRequest",
    code=lambda_.Code.from_asset(str(Path(__file__).parent / "java_handler")),
)
cdk.CustomResource(broken, "NeedsJava", service_token=java.function_arn)

app.synth()
