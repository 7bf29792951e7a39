"""The Studio test app: a domain with lifecycle scripts, two user profiles, a shared space and the grants.

``build(app)`` adds the stack to ``app`` (cdk.json's feature flags are the caller's business) so that
any scanner can synthesize it; ``tests/test_studio.py`` and the template scanners use it.
"""

from __future__ import annotations

from aws_cdk import App, Stack
from aws_cdk import aws_stepfunctions as sfn

from sm_constructs import EndpointDeployment, LifecycleScript, MlDataBucket, MlStateMachine, MlVpc
from sm_constructs.network import DEFAULT_INTERFACE_ENDPOINTS
from sm_constructs.studio import StudioDomain, StudioSharedSpace, StudioUserProfile

STACK = "StudioTest"


class StudioStack(Stack):
    def __init__(self, app: App, id: str = STACK, *, restrict_default_security_group: bool = True) -> None:
        super().__init__(app, id)
        self.data = MlDataBucket(self, "Data")
        # Own network only to choose whether the default security group is closed by a Lambda-backed
        # custom resource (the local emulator runs no Lambda functions).
        self.network = MlVpc(
            self,
            "Network",
            interface_endpoints=list(DEFAULT_INTERFACE_ENDPOINTS),
            restrict_default_security_group=restrict_default_security_group,
        )
        self.domain = StudioDomain(
            self,
            "Studio",
            data_bucket=self.data,
            vpc=self.network.vpc,
            jupyter_lab_lifecycle=LifecycleScript.from_inline("#!/bin/bash\necho jupyterlab started\n"),
            code_editor_lifecycle=LifecycleScript.from_inline("#!/bin/bash\necho code editor started\n"),
            tags={"project": "churn"},
        )
        self.alice = StudioUserProfile(
            self,
            "Alice",
            domain=self.domain,
            user_profile_name="alice",
            data_access={"raw/": "read"},
            tags={"team": "analytics", "cost-center": "1234"},
        )
        self.bob = StudioUserProfile(self, "Bob", domain=self.domain, user_profile_name="bob")
        self.space = StudioSharedSpace(
            self, "TeamSpace", domain=self.domain, space_name="team", owner=self.alice, volume_size_gb=20
        )
        pipeline = MlStateMachine(
            self, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(self, "Start"))
        )
        churn = EndpointDeployment.from_endpoint_name(self, "Churn", "churn")
        for user in (self.domain, self.alice):
            pipeline.grant_start_and_read(user)
            churn.grant_invoke(user)
        self.data.grant_read(self.bob, "processed/")


def build(app: App, *, restrict_default_security_group: bool = True) -> StudioStack:
    """The Studio test stack in ``app``."""
    return StudioStack(app, restrict_default_security_group=restrict_default_security_group)
