"""The emulator's SageMaker List* paging (sm_constructs/local/_sagemaker_requests.py), through moto and botocore."""

import pytest


def test_processing_jobs_and_training_job_search_are_paged_with_next_token():
    import datetime

    import boto3
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from sm_constructs.local.aws import sagemaker_search

    sagemaker_search.install()
    role = "arn:aws:iam::123456789012:role/r"
    resources = {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1}
    with mock_aws():
        sm = boto3.client("sagemaker", region_name="us-east-1")
        for name in ("p-1", "p-2", "p-3"):
            sm.create_processing_job(
                ProcessingJobName=name,
                ProcessingResources={"ClusterConfig": resources},
                AppSpecification={"ImageUri": "img"},
                RoleArn=role,
            )
            sm.create_training_job(
                TrainingJobName=name,
                AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
                RoleArn=role,
                OutputDataConfig={"S3OutputPath": "s3://b/m"},
                ResourceConfig=resources,
                StoppingCondition={"MaxRuntimeInSeconds": 60},
            )

        def processing(**page):
            listed = sm.list_processing_jobs(SortBy="Name", SortOrder="Ascending", MaxResults=2, **page)
            return [j["ProcessingJobName"] for j in listed["ProcessingJobSummaries"]], listed.get("NextToken")

        first, token = processing()
        assert first == ["p-1", "p-2"] and token
        assert processing(NextToken=token) == (["p-3"], None)

        def search(**page):
            found = sm.search(Resource="TrainingJob", SortBy="TrainingJobName", SortOrder="Ascending", **page)
            return [r["TrainingJob"]["TrainingJobName"] for r in found["Results"]], found.get("NextToken")

        first, token = search(MaxResults=2)
        assert first == ["p-1", "p-2"] and token
        assert search(MaxResults=2, NextToken=token) == (["p-3"], None)
        assert search() == (["p-1", "p-2", "p-3"], None)  # 10 a page when MaxResults is not given
        with pytest.raises(ClientError, match=r"ValidationException.*Invalid pagination token"):
            sm.list_processing_jobs(NextToken="not-ours")
        after = sm.list_processing_jobs(CreationTimeAfter=datetime.datetime(2000, 1, 1))["ProcessingJobSummaries"]
        assert (
            len(after) == 3
            and not sm.list_processing_jobs(CreationTimeBefore=datetime.datetime(2000, 1, 1))["ProcessingJobSummaries"]
        )


def test_a_time_in_a_request_is_read_as_utc_or_refused():
    import datetime

    from moto.sagemaker.exceptions import ValidationError

    from sm_constructs.local._sagemaker_requests import request_time

    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    assert request_time({"CreatedAfter": 0}, "CreatedAfter") == epoch  # botocore sends epoch seconds
    assert request_time({"CreatedAfter": "1970-01-01T00:00:00Z"}, "CreatedAfter") == epoch
    assert request_time({"CreatedAfter": "1970-01-01T00:00:00"}, "CreatedAfter") == epoch  # no zone: UTC
    assert request_time({}, "CreatedAfter") is None
    with pytest.raises(ValidationError, match="CreatedAfter 'yesterday' is not a timestamp"):
        request_time({"CreatedAfter": "yesterday"}, "CreatedAfter")
