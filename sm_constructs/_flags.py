"""Feature flags our constructs render with, whatever the app's ``cdk.json`` sets.

aws-cdk-lib reads a feature flag from the context of the construct being rendered
(``FeatureFlags.of(scope)`` walks up the tree), so an app's ``cdk.json`` (or a bare one) would change
the templates our constructs produce. The flags below change them; each is pinned, on our
constructs' own nodes, to aws-cdk-lib's recommended value (``aws-cdk-lib/recommended-feature-flags.json``,
the values ``cdk init`` writes; ``tests/test_reference_app.py`` checks both against that file):

* ``@aws-cdk/aws-iam:minimizePolicies``: merged, sorted policy statements (key policies, role
  policies). Our roles are ``iam.Role`` subclasses, which create children before a subclass could
  set context, so their policy documents ask for it with ``PolicyDocument(minimize=True)`` instead,
  as do our KMS key policies (:func:`key_policy`);
* ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy``: log delivery through the log bucket's policy
  instead of the legacy ``AccessControl: LogDeliveryWrite`` ACL (cfn-lint W3045).
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

__all__ = ["PINNED_FLAGS", "key_policy", "pin_feature_flags"]

PINNED_FLAGS: dict[str, bool] = {
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


def pin_feature_flags(construct: Construct) -> None:
    """Pin :data:`PINNED_FLAGS` for ``construct`` and everything it creates (call before it has children)."""
    node = construct.node
    for flag, value in PINNED_FLAGS.items():
        node.set_context(flag, value)


def key_policy() -> iam.PolicyDocument:
    """A KMS key policy minimized whatever the flags (a key policy resolves with its stack's flags, not
    the key's), starting with the statement aws-cdk-lib's ``kms.Key`` adds when given no policy
    (``aws-kms/lib/key.ts`` ``addDefaultAdminPolicy``: ``kms:*`` on ``*`` for the account root)."""
    admin = iam.PolicyStatement(actions=["kms:*"], resources=["*"], principals=[iam.AccountRootPrincipal()])
    return iam.PolicyDocument(minimize=True, statements=[admin])
