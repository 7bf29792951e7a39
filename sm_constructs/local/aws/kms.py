"""KMS for the emulator: keys made by CloudFormation keep their key policy as JSON text.

A template's ``AWS::KMS::Key`` ``KeyPolicy`` is a JSON object ("KeyPolicy: Json", *AWS::KMS::Key*,
AWS CloudFormation User Guide), and KMS keeps and returns a key policy as a JSON string
(``GetKeyPolicy`` ``Policy``: String, botocore's KMS model). moto's CloudFormation hands the object
through to ``create_key`` as a dict, so every later call on such a key that reads its policy
(``DescribeKey``, ``GetKeyPolicy`` ...) failed with an internal error instead of answering.
"""

from __future__ import annotations

import json
from typing import Any

from .. import patches

__all__ = ["install"]


def install() -> None:
    from moto.kms.models import KmsBackend

    original = KmsBackend.create_key

    def create_key(
        self: Any,
        policy: Any,
        key_usage: str,
        key_spec: str,
        description: str,
        tags: Any,
        multi_region: bool = False,
        origin: str = "AWS_KMS",
    ) -> Any:
        text = json.dumps(policy) if isinstance(policy, dict) else policy
        return original(self, text, key_usage, key_spec, description, tags, multi_region, origin)

    patches.replace(
        "moto.kms.models:KmsBackend",
        "create_key",
        create_key,
        why="a CloudFormation KeyPolicy (a JSON object) is kept as JSON text, as KMS keeps every key policy",
    )
    patches.apply()
