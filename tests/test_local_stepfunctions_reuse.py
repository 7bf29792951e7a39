"""moto's Step Functions interpreter reuses clients and parse trees (local/aws/stepfunctions_reuse.py)
without sharing anything an execution changes."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

from sm_constructs.local.aws.stepfunctions_reuse import TREES_KEPT, _ClientReuse, _TreeReuse

DEFINITION = json.dumps(
    {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "Next": "B"}, "B": {"Type": "Succeed"}}}
)


def test_a_client_is_reused_per_service_region_and_credentials():
    reuse = _ClientReuse(boto3)
    kw = {"aws_access_key_id": "ak", "aws_secret_access_key": "sk", "endpoint_url": "http://localhost:1"}
    s3 = reuse.client(service_name="s3", region_name="us-east-1", config=None, **kw)
    assert reuse.client(service_name="s3", region_name="us-east-1", config=None, **kw) is s3
    assert reuse.client(service_name="s3", region_name="eu-west-1", config=None, **kw) is not s3
    assert reuse.client(service_name="sqs", region_name="us-east-1", config=None, **kw) is not s3
    other = {**kw, "aws_access_key_id": "another-account"}
    assert reuse.client(service_name="s3", region_name="us-east-1", config=None, **other) is not s3
    assert reuse.Session is boto3.Session  # the rest of boto3 as it is


def test_a_definition_is_parsed_once_and_each_caller_gets_its_own_components():
    reuse = _TreeReuse()
    program, tree = reuse.parse(DEFINITION)
    again, same_tree = reuse.parse(DEFINITION)
    assert same_tree is tree and again is not program
    # what moto's own parser builds from the same text
    theirs, _ = AmazonStateLanguageParser.parse(DEFINITION)
    assert type(again) is type(theirs) and again.start_at.start_at_name == theirs.start_at.start_at_name == "A"


def test_a_definition_with_syntax_errors_fails_every_time():
    reuse = _TreeReuse()
    for _ in range(2):
        with pytest.raises(ASLParserException):
            reuse.parse('{"StartAt": "A", "States": {"A": {"Type": "Nope"}}}')


def test_only_the_most_recent_definitions_are_kept():
    reuse = _TreeReuse()
    _, first = reuse.parse(DEFINITION)
    for i in range(TREES_KEPT):
        reuse.parse(DEFINITION.replace('"x": 1', f'"x": {i + 2}'))
    _, reparsed = reuse.parse(DEFINITION)
    assert reparsed is not first


def test_executions_starting_at_once_each_read_their_own_query_languages():
    """A JSONata state among JSONPath ones, preprocessed by many threads at once (executions starting
    together): each sees its own states' query languages (moto's Preprocessor shares one scope stack)."""
    import threading

    mixed = json.dumps(
        {
            "StartAt": "Path",
            "States": {
                "Path": {"Type": "Pass", "Parameters": {"a.$": "$.x"}, "ResultPath": "$.y", "Next": "Nata"},
                "Nata": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input %}", "Next": "Map"},
                "Map": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {
                        "StartAt": "Inner",
                        "States": {"Inner": {"Type": "Pass", "QueryLanguage": "JSONata", "End": True}},
                    },
                    "ResultPath": "$.z",
                    "End": True,
                },
            },
        }
    )
    reuse = _TreeReuse()
    reuse.parse(mixed)
    errors: list[BaseException] = []

    def start() -> None:
        for _ in range(15):
            try:
                reuse.parse(mixed)
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
