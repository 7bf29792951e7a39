"""The emulator reads a JSON template as JSON and leaves YAML to moto (local/aws/cloudformation.py)."""

from __future__ import annotations

import json

import pytest
import yaml
from moto.cloudformation.utils import yaml_tag_constructor

from sm_constructs.local.aws.cloudformation import json_template

yaml.add_multi_constructor("", yaml_tag_constructor)  # as moto's parse does


def test_a_json_template_reads_as_moto_reads_it():
    template = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "b-${AWS::Region}"}}}
        },
        "Outputs": {"Name": {"Value": {"Ref": "Bucket"}, "Export": {"Name": "x"}}},
        "Conditions": {"Always": {"Fn::Equals": ["2012-10-17", "2012-10-17"]}},
    }
    for body in (json.dumps(template), json.dumps(template, indent=1), f"  \n{json.dumps(template)}"):
        assert json_template(body) == yaml.load(body, Loader=yaml.Loader) == template


def test_a_json_number_is_a_number():
    assert json_template('{"Value": 1e5}') == {"Value": 100000.0}


@pytest.mark.parametrize(
    "body", ["Resources:\n  B:\n    Type: AWS::S3::Bucket\n", "{Resources: {B: {Type: X}}}", "a: !Ref x"]
)
def test_yaml_is_left_to_moto(body):
    assert json_template(body) is None
