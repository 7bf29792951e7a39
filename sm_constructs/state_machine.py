"""A Step Functions state machine with the observability and encryption ML workflows need."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ArnFormat, Aspects, CfnResource, Duration, Fn, IAspect, Names, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.interfaces import ResourceEnvironment
from constructs import Construct, IConstruct, IValidation

from ._flags import key_policy, pin_feature_flags
from ._iam import ManagedPolicyRole, combine_grants, service_of_this_account
from ._iam_facts import LOGS_ENCRYPTION_CONTEXT, LOGS_REGIONAL_PRINCIPAL, STATES_PRINCIPAL
from ._json_text import parts_in_strings
from ._kms import allow_log_delivery, new_key
from ._limits import check_template_size
from ._nag import acknowledge, flatten_cfn_reference, iam5, state_machine_executions
from ._validation import Problems, arn_resource_name, check_state_machine_name, is_token, typed
from .network import reach_service

__all__ = ["DEFINITIONS_IN_S3_CONTEXT", "MAX_DEFINITION_BYTES", "MlStateMachine"]

#: Step Functions' limit on a state machine definition (1 MiB), checked at synth.
MAX_DEFINITION_BYTES = 1024 * 1024
#: Context key (``cdk.json``, or ``node.set_context`` on a stack before its constructs are added):
#: ``true`` stores the definition of every MlStateMachine under that scope as an S3 file asset.
DEFINITIONS_IN_S3_CONTEXT = "sm-constructs:definitionsInS3"


@jsii.implements(IAspect)
class _AtSynth:
    """What needs every grant made: DependsOn the role's policies only, cdk-nag acknowledgements of its
    prefix ARNs, and the definition moved to S3 (``definition_in_s3``) once it is complete."""

    def __init__(self, owner: MlStateMachine) -> None:
        self._owner = owner

    def visit(self, node: IConstruct) -> None:
        cfn_sm = self._owner.resource.node.default_child
        if not isinstance(cfn_sm, CfnResource) or node.node.path != cfn_sm.node.path:
            return
        stack = Stack.of(cfn_sm)
        policies = [p.node.default_child for p in self._owner._role.permission_policies]
        cfn_sm.add_override("DependsOn", [stack.get_logical_id(p) for p in policies if isinstance(p, CfnResource)])
        self._acknowledge_prefix_arns(stack)
        if self._owner.definition_in_s3 and self._owner.definition_asset is None:
            self._owner._store_definition_in_s3()

    def _acknowledge_prefix_arns(self, stack: Stack) -> None:
        """Wildcard resources of the role's statements that are as narrow as their names allow; say so to cdk-nag."""
        for matches, reason in _NAMED_AT_RUN_TIME:
            # Only the candidate resource strings are resolved (one jsii call), not whole policy documents.
            candidates = [r for r in self._owner._role.statement_resources if matches(str(r))]
            findings = {iam5(resource=flatten_cfn_reference(v)) for v in stack.resolve(candidates) or []}
            if findings:
                acknowledge(self._owner._role, sorted(findings), reason)


#: Resources a workflow's role reaches by a wildcard because they are named at run time: which, and why.
_NAMED_AT_RUN_TIME: tuple[tuple[Callable[[str], bool], str], ...] = (
    (
        # Lineage artifacts have hash ARNs, not prefixed names: sm_constructs.lineage acknowledges them.
        lambda r: ":sagemaker:" in r and r.endswith("*") and not r.endswith(":artifact/*"),
        "SageMaker resources created by this workflow get run-unique names under a fixed, "
        "validated name prefix; access is limited to that prefix.",
    ),
    (
        lambda r: (
            (":application-autoscaling:" in r and r.endswith(":scalable-target/*"))
            or (":alarm:TargetTracking-" in r and r.endswith("/variant/*"))
        ),
        "Endpoint autoscaling: Application Auto Scaling gives scalable targets generated ids (the "
        "statement is limited to SageMaker variants by its service-namespace and scalable-dimension "
        "condition) and names target-tracking alarms after the endpoint variant with a generated suffix.",
    ),
)


def _substitution_name(value: Any, taken: set[str]) -> str:
    """A readable ``DefinitionSubstitutions`` key for a CloudFormation value (``Partition``, ``DataKey5F08Arn``)."""
    if isinstance(value, dict) and "Ref" in value:
        base = str(value["Ref"]).removeprefix("AWS::")
    elif isinstance(value, dict) and "Fn::GetAtt" in value:
        base = "".join(str(p) for p in value["Fn::GetAtt"])
    elif isinstance(value, dict) and "Fn::FindInMap" in value:
        base = "".join(p for p in value["Fn::FindInMap"] if isinstance(p, str))
    else:
        base = "Value"
    base = re.sub(r"[^A-Za-z0-9]", "", base) or "Value"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}{n}"
    return name


def definition_with_substitutions(body: Any) -> tuple[str, dict[str, Any]]:
    """A resolved ``DefinitionString`` as text with ``${Name}`` where each deploy-time value was, and the values.

    CloudFormation replaces each ``${Name}`` by ``DefinitionSubstitutions[Name]`` when it creates the
    state machine (AWS CloudFormation User Guide, AWS::StepFunctions::StateMachine,
    ``DefinitionSubstitutions``), so the file and the map deploy the definition the template had.
    Raises ``ValueError`` where that would not hold: literal ``${`` in the definition (CloudFormation
    would read it as a variable) or a value outside a JSON string (a substitution is text).
    """
    if isinstance(body, str):
        parts: list[Any] = [body]
    elif isinstance(body, dict) and set(body) == {"Fn::Join"}:
        separator, joined = body["Fn::Join"]
        parts = [p for i, part in enumerate(joined) for p in ([separator, part] if i and separator else [part])]
    else:
        raise ValueError(f"the definition is not JSON text ({str(body)[:80]})")
    names: dict[str, str] = {}
    substitutions: dict[str, Any] = {}
    out: list[str] = []
    for part, in_string in parts_in_strings(parts):
        if isinstance(part, str):
            if "${" in part:
                raise ValueError("the definition contains '${', which CloudFormation would read as a substitution")
            out.append(part)
            continue
        if not in_string:
            raise ValueError(f"the deploy-time value {json.dumps(part)[:80]} stands outside a JSON string")
        key = json.dumps(part, sort_keys=True)
        if key not in names:
            names[key] = _substitution_name(part, set(substitutions))
            substitutions[names[key]] = part
        out.append(f"${{{names[key]}}}")
    return "".join(out), substitutions


@jsii.implements(IValidation)
class _DefinitionSize:
    """Fails synth, naming the state machine, before Step Functions would reject a large definition."""

    def __init__(self, owner: MlStateMachine, limit: int) -> None:
        self._owner = owner
        self._limit = limit

    def validate(self) -> list[str]:
        size = self._owner.definition_size()
        if size > self._limit:
            return [
                f"MlStateMachine '{self._owner.node.path}': definition is {size} bytes, over Step Functions' "
                f"limit of {self._limit}; split the workflow into several state machines"
            ]
        return []


class ExecutionMetrics:
    """Step Functions execution metrics (namespace ``AWS/States``, dimension ``StateMachineArn``; Sum over
    5 minutes by default, execution time Average) of the state machine :attr:`_executions` returns: one set
    of methods for every construct that runs a state machine."""

    @property
    def _executions(self) -> sfn.IStateMachine:
        return self.state_machine  # type: ignore[attr-defined]

    def metric(self, metric_name: str, **props: Any) -> cloudwatch.Metric:
        """Any Step Functions execution metric of this state machine (``props``: ``cloudwatch.MetricOptions``)."""
        return self._executions.metric(metric_name, **props)

    def metric_failed(self, **props: Any) -> cloudwatch.Metric:
        """Executions that failed."""
        return self._executions.metric_failed(**props)

    def metric_timed_out(self, **props: Any) -> cloudwatch.Metric:
        """Executions that timed out."""
        return self._executions.metric_timed_out(**props)

    def metric_succeeded(self, **props: Any) -> cloudwatch.Metric:
        """Executions that succeeded."""
        return self._executions.metric_succeeded(**props)

    def metric_started(self, **props: Any) -> cloudwatch.Metric:
        """Executions started."""
        return self._executions.metric_started(**props)

    def metric_time(self, **props: Any) -> cloudwatch.Metric:
        """Execution time in milliseconds (average)."""
        return self._executions.metric_time(**props)

    def metric_aborted(self, **props: Any) -> cloudwatch.Metric:
        """Executions that were aborted."""
        return self._executions.metric_aborted(**props)

    def metric_throttled(self, **props: Any) -> cloudwatch.Metric:
        """Executions that were throttled."""
        return self._executions.metric_throttled(**props)


@jsii.implements(sfn.IStateMachine)
class MlStateMachine(ExecutionMetrics, Construct):
    """A Standard state machine with execution logging, tracing and a customer-managed key.

    It is an ``sfn.IStateMachine``: pass it wherever aws-cdk takes a state machine (event and
    scheduler targets, ``grant_*``, ``StepFunctionsStartExecution``). :attr:`resource` is the
    ``sfn.StateMachine`` it configures, the escape hatch for what this class does not expose.

    Defaults, each overridable:

    * execution history and logs (level ALL, with execution data) go to a log group encrypted
      with the same customer-managed KMS key, kept for one year: SageMaker failure reasons end up
      there and an audit needs them;
    * the state machine definition and execution data are encrypted with that key;
    * X-Ray tracing is on;
    * without ``state_machine_name``, a name unique in the app is generated from the construct path:
      the role may use the key only for this state machine's ARN, which needs the name at synth.

    :param definition_body: the states.
    :param encryption_key: for the definition, execution data and logs. Default: - a new rotating key.
    :param log_retention: Default: one year.
    :param log_level: Default: ``LogLevel.ALL`` (with execution data).
    :param tracing_enabled: X-Ray. Default: True.
    :param timeout: of each execution (at most one year). Default: - none (Step Functions' one year).
    :param state_machine_name: Default: - a name unique in the app, from the construct path.
    :param removal_policy: for the key, the log group and the state machine. Default: ``RemovalPolicy.RETAIN``.
    :param comment: the definition's comment. Default: - none.
    :param log_group: where execution logs go (one shared by several state machines lets a stack hold
        more workflows). Default: - a new log group encrypted with the key, kept for ``log_retention``.
    :param definition_in_s3: store the definition as an S3 file asset (``DefinitionS3Location``, its
        deploy-time values in ``DefinitionSubstitutions``) instead of inline in the template, where a
        reference pipeline's two definitions take about 95 KB. The checks (SageMakerChecks) read the
        asset file. Default: - the context value ``sm-constructs:definitionsInS3``
        (:data:`DEFINITIONS_IN_S3_CONTEXT`), else inline.
    """

    #: The aws-cdk ``sfn.StateMachine`` this construct configures (its id is ``Resource``).
    resource: sfn.StateMachine

    @typed
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        definition_body: sfn.DefinitionBody,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_level: sfn.LogLevel = sfn.LogLevel.ALL,
        tracing_enabled: bool = True,
        timeout: Duration | None = None,
        state_machine_name: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        comment: str | None = None,
        log_group: logs.ILogGroup | None = None,
        definition_in_s3: bool | None = None,
    ) -> None:
        problems = Problems.for_construct(type(self).__name__, scope, id)
        if timeout is not None and not timeout.is_unresolved() and timeout.to_seconds() > 365 * 24 * 3600:
            problems.add("timeout", timeout.to_human_string(), "Standard workflows run at most one year")
        check_state_machine_name(problems, "state_machine_name", state_machine_name)
        problems.raise_if_any()
        super().__init__(scope, id)
        pin_feature_flags(self)
        stack = Stack.of(self)
        if encryption_key is None:
            encryption_key = new_key(
                self,
                "Key",
                removal_policy=removal_policy,
                description=f"Encrypts the {self.node.path} state machine and its logs",
                policy=key_policy(),
            )
        self.encryption_key = encryption_key
        # CloudWatch Logs encrypts the log group with the key: it needs the key policy to allow it.
        encryption_key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                principals=[iam.ServicePrincipal(LOGS_REGIONAL_PRINCIPAL.format(region=stack.region))],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        LOGS_ENCRYPTION_CONTEXT: stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )
        if log_level != sfn.LogLevel.OFF:
            allow_log_delivery(encryption_key)
        if definition_in_s3 is None:
            definition_in_s3 = self.node.try_get_context(DEFINITIONS_IN_S3_CONTEXT) in (True, "true")
        self.definition_in_s3 = definition_in_s3
        #: The S3 asset holding the definition (set at synth when ``definition_in_s3``).
        self.definition_asset: s3_assets.Asset | None = None
        self.log_group = log_group or logs.LogGroup(
            self,
            "Logs",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self._role = ManagedPolicyRole(
            self, "Role", assumed_by=service_of_this_account(STATES_PRINCIPAL), description=f"Runs {self.node.path}"
        )
        self.resource = sfn.StateMachine(
            self,
            "Resource",
            role=self._role,
            definition_body=definition_body,
            state_machine_type=sfn.StateMachineType.STANDARD,
            logs=sfn.LogOptions(destination=self.log_group, level=log_level, include_execution_data=True),
            tracing_enabled=tracing_enabled,
            timeout=timeout,
            # aws-cdk scopes the role's use of the key to the state machine's ARN, built from its name: a
            # name left to CloudFormation would render as "stateMachine:" and deny every execution.
            state_machine_name=state_machine_name or Names.unique_resource_name(self, max_length=80, separator="-"),
            # aws-cdk adds an unconditioned ``kms:Decrypt*`` for delivery.logs to the key it is given; it gets
            # a reference instead (resource-policy additions are dropped) and allow_log_delivery adds the
            # statement with the confused-deputy conditions.
            encryption_configuration=sfn.CustomerManagedEncryptionConfiguration(
                kms.Key.from_key_arn(self, "KeyRef", encryption_key.key_arn)
            ),
            removal_policy=removal_policy,
            comment=comment,
        )
        self._drop_redundant_role_dependency()
        acknowledge(
            self._role,
            ["AwsSolutions-IAM5[Resource::*]"],
            "Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups, PutResourcePolicy) and X-Ray "
            "(PutTraceSegments, GetSampling*) actions support only '*' as resource (aws-cdk adds exactly these).",
        )
        self.node.add_validation(_DefinitionSize(self, MAX_DEFINITION_BYTES))
        check_template_size(self)

    def _drop_redundant_role_dependency(self) -> None:
        """aws-cdk adds ``DependsOn: [Role]`` next to ``RoleArn: GetAtt Role`` (cfn-lint W3005).

        At synth (when every grant has been made) the dependency list is set to the role's
        policies only, so the state machine still waits for its permissions.
        """
        cfn_sm = self.resource.node.default_child
        assert cfn_sm is not None
        Aspects.of(cfn_sm).add(_AtSynth(self))  # visits only the CfnStateMachine

    def _store_definition_in_s3(self) -> None:
        """Move the rendered definition into an S3 file asset, deploy-time values into substitutions."""
        cfn_sm = self.resource.node.default_child
        assert isinstance(cfn_sm, sfn.CfnStateMachine)
        try:
            text, substitutions = definition_with_substitutions(Stack.of(self).resolve(cfn_sm.definition_string))
        except ValueError as error:
            raise ValueError(
                f"MlStateMachine '{self.node.path}': definition_in_s3=True cannot keep this definition as "
                f"deployed: {error}; use definition_in_s3=False"
            ) from None
        digest = hashlib.sha256(text.encode()).hexdigest()
        path = Path(tempfile.gettempdir()) / "sm-constructs-definitions" / f"{digest}.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{id(self)}.tmp")
            partial.write_text(text)
            partial.replace(path)
        self.definition_asset = s3_assets.Asset(self, "Definition", path=str(path))
        cfn_sm.add_property_deletion_override("DefinitionString")
        cfn_sm.add_property_override(
            "DefinitionS3Location",
            {"Bucket": self.definition_asset.s3_bucket_name, "Key": self.definition_asset.s3_object_key},
        )
        if substitutions:
            cfn_sm.add_property_override("DefinitionSubstitutions", substitutions)

    # ---- imports ------------------------------------------------------------------------------
    @staticmethod
    def from_state_machine_name(scope: Construct, id: str, state_machine_name: str) -> sfn.IStateMachine:
        """A state machine made outside this app, by name, in this stack's account and Region
        (aws-cdk's ``StateMachine.from_state_machine_name``): to start it, target it or grant on it."""
        problems = Problems.for_construct("MlStateMachine", scope, id)
        if not isinstance(state_machine_name, str) or not state_machine_name:
            problems.add("state_machine_name", state_machine_name, "a state machine name is required")
        check_state_machine_name(problems, "state_machine_name", state_machine_name)
        problems.raise_if_any()
        return sfn.StateMachine.from_state_machine_name(scope, id, state_machine_name)

    @staticmethod
    def from_state_machine_arn(scope: Construct, id: str, state_machine_arn: str) -> sfn.IStateMachine:
        """A state machine made outside this app, by ARN
        (``arn:<partition>:states:<region>:<account>:stateMachine:<name>``, aws-cdk's
        ``StateMachine.from_state_machine_arn``)."""
        if not is_token(state_machine_arn):
            problems = Problems.for_construct("MlStateMachine", scope, id)
            name = arn_resource_name(
                problems, "state_machine_arn", state_machine_arn, service="states", resource="stateMachine", sep=":"
            )
            if name:
                check_state_machine_name(problems, "state_machine_arn", name)
            problems.raise_if_any()
        return sfn.StateMachine.from_state_machine_arn(scope, id, state_machine_arn)

    def definition_size(self) -> int:
        """Bytes of the synthesized definition (CloudFormation references counted as 64 bytes each)."""
        cfn_sm = self.resource.node.default_child
        assert isinstance(cfn_sm, sfn.CfnStateMachine)
        body = Stack.of(self).resolve(cfn_sm.definition_string)
        if isinstance(body, dict) and "Fn::Join" in body:
            return sum(len(p.encode()) if isinstance(p, str) else 64 for p in body["Fn::Join"][1])
        return len(json.dumps(body).encode())

    # ---- sfn.IStateMachine -----------------------------------------------------------------
    @property
    def _executions(self) -> sfn.IStateMachine:
        return self.resource

    @property
    def state_machine_arn(self) -> str:
        return self.resource.state_machine_arn

    @property
    def state_machine_name(self) -> str:
        return self.resource.state_machine_name

    @property
    def state_machine_ref(self) -> Any:
        return self.resource.state_machine_ref

    @property
    def role(self) -> iam.IRole:
        return self.resource.role

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self.resource.grant_principal

    @property
    def env(self) -> ResourceEnvironment:
        return self.resource.env

    @property
    def stack(self) -> Stack:
        return self.resource.stack

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        self.resource.apply_removal_policy(policy)

    def grant(self, identity: iam.IGrantable, *actions: str) -> iam.Grant:
        """Any ``actions`` on this state machine."""
        return self.resource.grant(identity, *actions)

    def grant_execution(self, identity: iam.IGrantable, *actions: str) -> iam.Grant:
        """Any ``actions`` on this state machine's executions."""
        return self.resource.grant_execution(identity, *actions)

    def grant_read(self, identity: iam.IGrantable) -> iam.Grant:
        """List and describe executions (aws-cdk's read grant)."""
        return self.resource.grant_read(identity)

    def grant_start_execution(self, identity: iam.IGrantable) -> iam.Grant:
        """``states:StartExecution`` on this state machine."""
        return self.resource.grant_start_execution(identity)

    def grant_start_sync_execution(self, identity: iam.IGrantable) -> iam.Grant:
        """``states:StartSyncExecution`` on this state machine (Express workflows only)."""
        return self.resource.grant_start_sync_execution(identity)

    def grant_redrive_execution(self, identity: iam.IGrantable) -> iam.Grant:
        """``states:RedriveExecution`` on this state machine's executions."""
        return self.resource.grant_redrive_execution(identity)

    def grant_task_response(self, identity: iam.IGrantable) -> iam.Grant:
        """Send task success, failure and heartbeats to this state machine's tasks."""
        return self.resource.grant_task_response(identity)

    @typed
    def grant_start_and_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start executions and read them back (which every caller of start wants); the grant covers both.

        The reads are those of this state machine and its executions only: not aws-cdk's
        ``grant_read``, which adds ``DescribeStateMachine``, ``DescribeActivity`` and
        ``ListActivities`` on ``*``. A grantee in a VPC (a notebook, a Studio domain or user) gets
        the Step Functions endpoint when it created its VPC (:func:`~sm_constructs.network.reach_service`).
        """
        reach_service(grantee, ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS)
        read = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["states:DescribeStateMachine", "states:ListExecutions"],
            resource_arns=[self.state_machine_arn],
        )
        watch = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "states:DescribeExecution",
                "states:DescribeStateMachineForExecution",
                "states:GetExecutionHistory",
            ],
            resource_arns=[self._executions_arn()],
        )
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            findings = [iam5(action="states:ListExecutions")]
            executions = state_machine_executions(self)
            if executions is not None:
                findings.append(iam5(resource=f"{executions}:*"))
            acknowledge(
                principal, findings, "Executions of this one state machine; their names are chosen at start time."
            )
        return combine_grants(read, watch, self.grant_start_execution(grantee))

    def _executions_arn(self) -> str:
        """``arn:...:execution:<state machine name>:*`` (the name is the ARN's 7th field)."""
        name = Fn.select(6, Fn.split(":", self.state_machine_arn))
        return Stack.of(self).format_arn(
            service="states", resource="execution", resource_name=f"{name}:*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
