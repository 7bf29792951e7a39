"""Script-mode inference handlers on the scikit-learn image, served by the emulator's InvokeEndpoint.

Raw SageMaker calls against one emulator (no CDK deployment): a model is uploaded to the emulated
S3, deployed to an endpoint and invoked with boto3 and ``sm-pipeline invoke``. Predictions are
checked against the same scikit-learn model called in this process; errors against botocore's
``ModelError`` shape.
"""

import io
import json
import re
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from botocore.exceptions import ClientError
from sklearn.linear_model import LogisticRegression
from support import tar_gz

from sm_constructs.local.cli.demo import ACCOUNT_ID, LocalSession, emulator_env, start_server, stop_server
from sm_constructs.local.server import _free_port

pytestmark = pytest.mark.xdist_group("emulator-inference")
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/models"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"
BUCKET = "models"

# only model_fn: the image's default input_fn (CSV → float32 array), predict_fn and output_fn do the rest
MODEL_FN_ONLY = """
import os, joblib
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""

# every handler, one taking the context argument; a row of zeros makes predict_fn fail
ALL_HANDLERS = """
import json, os, joblib
import numpy as np
print("loading the handler module")
def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
def input_fn(body, content_type):
    assert isinstance(body, str) and content_type == "application/json", (type(body), content_type)
    return np.array(json.loads(body)["instances"])
def predict_fn(data, model, context):
    if not data.any():
        raise ValueError("all features are zero: " + helper_name())
    return model.predict_proba(data)[:, 1]
def output_fn(prediction, accept):
    return json.dumps({"scores": prediction.tolist()}), "application/vnd.scores+json"
def helper_name():
    return "refusing to score"
"""


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sm-local-inference")
    # raw calls here, not a deployed app: no policies to check
    proc, url = start_server(_free_port(), workdir, time_scale=0.01, enforce_iam=False)
    rng = np.random.default_rng(7)
    features = rng.normal(size=(80, 3))
    model = LogisticRegression().fit(features, (features @ [1.0, -2.0, 0.5] > 0).astype(int))
    saved_model = io.BytesIO()
    joblib.dump(model, saved_model)
    try:
        session = LocalSession(url)
        s3, sm = session.client("s3"), session.client("sagemaker")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(
            Bucket=BUCKET,
            Key="a/model.tar.gz",
            Body=tar_gz({"model.joblib": saved_model.getvalue(), "code/inference.py": MODEL_FN_ONLY.encode()}),
        )
        s3.put_object(Bucket=BUCKET, Key="b/model.tar.gz", Body=tar_gz({"model.joblib": saved_model.getvalue()}))
        s3.put_object(Bucket=BUCKET, Key="b/sourcedir.tar.gz", Body=tar_gz({"serve.py": ALL_HANDLERS.encode()}))
        yield {"session": session, "sm": sm, "url": url, "workdir": workdir, "model": model}
    finally:
        stop_server(proc)


def _deploy(sm, name, container, **config):
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": SKLEARN, **container})
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {"VariantName": "primary", "ModelName": name, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
        **config,
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    deadline = time.monotonic() + 30
    while sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_a_model_fn_with_the_images_default_handlers_answers_csv(emu, tmp_path, monkeypatch, capsys):
    # model.tar.gz with code/inference.py, as the SageMaker SDK repacks it (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code)
    _deploy(
        emu["sm"],
        "sk-defaults",
        {
            "ModelDataUrl": f"s3://{BUCKET}/a/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code"},
        },
    )
    rows = np.array([[0.5, -1.0, 2.0], [-2.0, 1.5, 0.0], [1.0, 1.0, 1.0]])
    body = "\n".join(",".join(str(v) for v in row) for row in rows)
    runtime = emu["session"].client("sagemaker-runtime")
    answer = runtime.invoke_endpoint(EndpointName="sk-defaults", Body=body, ContentType="text/csv", Accept="text/csv")
    expected = emu["model"].predict(rows.astype(np.float32))
    assert answer["ContentType"] == "text/csv" and answer["InvokedProductionVariant"] == "primary"
    assert [int(line) for line in answer["Body"].read().decode().split()] == expected.tolist()
    # no Accept: the toolkit's default accept, application/json
    default = runtime.invoke_endpoint(EndpointName="sk-defaults", Body=body, ContentType="text/csv")
    assert default["ContentType"] == "application/json"
    assert json.loads(default["Body"].read()) == expected.tolist()
    # application/x-npy both ways: binary bodies reach the handler as sent
    sent = io.BytesIO()
    np.save(sent, rows)
    npy = runtime.invoke_endpoint(
        EndpointName="sk-defaults", Body=sent.getvalue(), ContentType="application/x-npy", Accept="application/x-npy"
    )
    assert np.load(io.BytesIO(npy["Body"].read())).tolist() == emu["model"].predict(rows).tolist()
    # an unsupported content type is the toolkit's UnsupportedFormatError, returned as ModelError
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="sk-defaults", Body=b"x", ContentType="application/x-parquet")
    error = caught.value.response["Error"]
    assert error["Code"] == "ModelError" and caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["Message"].startswith('Received server error (500) from primary with message "Content type ')
    assert caught.value.response["OriginalStatusCode"] == 500

    # sm-pipeline invoke, through the same emulator
    for key, value in emulator_env(emu["url"]).items():
        monkeypatch.setenv(key, value)
    (tmp_path / "rows.csv").write_text(body + "\n")
    from sm_constructs.cli import main

    assert main(["invoke", "sk-defaults", "--body", f"@{tmp_path / 'rows.csv'}"]) == 0
    assert [int(line) for line in capsys.readouterr().out.split()] == expected.tolist()


def test_all_handlers_from_a_source_dir_and_errors_with_the_traceback(emu, monkeypatch, capsys):
    _deploy(
        emu["sm"],
        "sk-handlers",
        {
            "ModelDataUrl": f"s3://{BUCKET}/b/model.tar.gz",
            "Environment": {
                "SAGEMAKER_PROGRAM": "serve.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": f"s3://{BUCKET}/b/sourcedir.tar.gz",
            },
        },
    )
    runtime = emu["session"].client("sagemaker-runtime")
    rows = [[0.5, -1.0, 2.0], [-2.0, 1.5, 0.0]]
    answer = runtime.invoke_endpoint(
        EndpointName="sk-handlers", Body=json.dumps({"instances": rows}), ContentType="application/json"
    )
    assert answer["ContentType"] == "application/vnd.scores+json"
    scores = json.loads(answer["Body"].read())["scores"]
    assert scores == pytest.approx(emu["model"].predict_proba(np.array(rows))[:, 1].tolist())

    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(
            EndpointName="sk-handlers", Body=json.dumps({"instances": [[0, 0, 0]]}), ContentType="application/json"
        )
    message = caught.value.response["Error"]["Message"]
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert message.startswith('Received server error (500) from primary with message "all features are zero')
    assert ", in predict_fn" in message and "ValueError: all features are zero: refusing to score" in message
    assert "/aws/sagemaker/Endpoints/sk-handlers in account 123456789012" in message
    assert "Traceback" in caught.value.response["OriginalMessage"]
    log = emu["workdir"] / "endpoints/sk-handlers/sk-handlers/serve.log"
    assert "loading the handler module" in log.read_text()  # the script's prints go to the endpoint's log

    for key, value in emulator_env(emu["url"]).items():
        monkeypatch.setenv(key, value)
    from sm_constructs.cli import main

    code = main(["invoke", "sk-handlers", "--body", '{"instances": [[0, 0, 0]]}', "--content-type", "application/json"])
    assert code != 0 and "ModelError: Received server error (500)" in capsys.readouterr().err

    # a deleted endpoint's handler process stops (at the next invocation the emulator serves)
    code_dir = str(emu["workdir"] / "endpoints/sk-handlers/sk-handlers/opt/ml/code")
    assert _processes_with(code_dir)
    emu["sm"].delete_endpoint(EndpointName="sk-handlers")
    deadline = time.monotonic() + 30
    while True:
        try:
            emu["sm"].describe_endpoint(EndpointName="sk-handlers")
        except ClientError:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with pytest.raises(ClientError, match="ValidationError"):
        runtime.invoke_endpoint(EndpointName="sk-handlers", Body="{}", ContentType="application/json")
    assert not _processes_with(code_dir)


def _processes_with(argument):
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if argument.encode() in cmdline.read_bytes().split(b"\0"):
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


def test_a_missing_model_fn_and_other_images_fail_saying_why(emu):
    _deploy(emu["sm"], "sk-no-script", {"ModelDataUrl": f"s3://{BUCKET}/b/model.tar.gz"})
    runtime = emu["session"].client("sagemaker-runtime")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="sk-no-script", Body="1,2,3", ContentType="text/csv")
    assert "Please provide a model_fn implementation" in caught.value.response["Error"]["Message"]

    emu["sm"].create_model(
        ModelName="torch",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3-cpu-py311",
            "ModelDataUrl": f"s3://{BUCKET}/b/model.tar.gz",
        },
    )
    emu["sm"].create_endpoint_config(
        EndpointConfigName="torch",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "torch", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
        ],
    )
    emu["sm"].create_endpoint(EndpointName="torch", EndpointConfigName="torch")
    deadline = time.monotonic() + 30
    while emu["sm"].describe_endpoint(EndpointName="torch")["EndpointStatus"] != "InService":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="torch", Body="1,2,3", ContentType="text/csv")
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert "pytorch-inference:2.3-cpu-py311 cannot serve on this machine" in caught.value.response["Error"]["Message"]


def test_the_handler_flow_follows_the_toolkits_rules(tmp_path, monkeypatch):
    # in this process: transform_fn alone, transform_fn with input_fn refused, the context argument
    import sys

    from sm_constructs.local.jobs.inference_handler import Transformer

    monkeypatch.setattr(sys, "path", list(sys.path))  # the handler puts its code directory first
    (tmp_path / "whole.py").write_text(
        "def model_fn(model_dir):\n    return model_dir\n"
        "def transform_fn(model, data, content_type, accept, context):\n"
        "    return f'{model}|{data}|{content_type}|{accept}|{context}', 'text/plain'\n"
    )
    (tmp_path / "both.py").write_text(
        "def model_fn(d):\n    return 1\ndef transform_fn(m, d, c, a):\n    return ''\ndef input_fn(b, c):\n    return b\n"
    )
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "whole.py")
    assert Transformer(str(tmp_path), "/m").transform(b"1,2", "text/csv", "*/*") == (
        200,
        b"/m|1,2|text/csv|application/json|None",
        "text/plain",
    )
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "both.py")
    status, body, _ = Transformer(str(tmp_path), "/m").transform(b"x", "text/csv", "text/csv")
    assert status == 500 and body.startswith(b"Cannot use transform_fn implementation in conjunction with")


XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


@pytest.fixture(scope="module")
def xgboost_model(emu):
    """A 10-feature XGBoost model in model.tar.gz as the algorithm writes it (``xgboost-model``)."""
    import xgboost as xgb

    rng = np.random.default_rng(3)
    features = rng.normal(size=(200, 10))
    booster = xgb.train(
        {"objective": "binary:logistic"}, xgb.DMatrix(features, label=features[:, 0] > 0), num_boost_round=5
    )
    emu["session"].client("s3").put_object(
        Bucket=BUCKET, Key="xgb/model.tar.gz", Body=tar_gz({"xgboost-model": bytes(booster.save_raw("json"))})
    )
    return booster, features


def test_xgboost_endpoint_refuses_what_the_container_refuses(emu, xgboost_model):
    import xgboost as xgb

    booster, features = xgboost_model
    _deploy(emu["sm"], "xgb", {"Image": XGBOOST, "ModelDataUrl": f"s3://{BUCKET}/xgb/model.tar.gz"})
    runtime = emu["session"].client("sagemaker-runtime")
    rows = features[:2]
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in rows)
    answer = runtime.invoke_endpoint(EndpointName="xgb", Body=body, ContentType="text/csv")
    scores = [float(v) for v in answer["Body"].read().decode().split()]
    assert scores == pytest.approx(booster.predict(xgb.DMatrix(rows)).tolist(), rel=1e-5)
    libsvm = "\n".join(" ".join(f"{i}:{float(v)!r}" for i, v in enumerate(row)) for row in rows)
    answer = runtime.invoke_endpoint(EndpointName="xgb", Body=libsvm, ContentType="text/libsvm")
    assert [float(v) for v in answer["Body"].read().decode().split()] == pytest.approx(scores, rel=1e-5)

    with pytest.raises(ClientError) as caught:  # a 3-column row for the 10-feature model
        runtime.invoke_endpoint(EndpointName="xgb", Body="0.1,0.2,0.3", ContentType="text/csv")
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert caught.value.response["OriginalStatusCode"] == 400
    assert caught.value.response["Error"]["Message"].startswith(
        'Received client error (400) from primary with message "Unable to evaluate payload provided: Feature size '
        'of csv inference data 3 is not consistent with feature size of trained model 10."'
    )
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="xgb", Body='{"instances": [[1, 2]]}', ContentType="application/json")
    assert caught.value.response["OriginalStatusCode"] == 415
    assert caught.value.response["OriginalMessage"] == (
        "application/json is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf, text/csv, "
        "text/libsvm, text/x-libsvm, application/x-parquet, application/x-recordio-protobuf."
    )
    with pytest.raises(ClientError) as caught:  # a type the container names but does not serve
        runtime.invoke_endpoint(EndpointName="xgb", Body=b"PAR1", ContentType="application/x-parquet")
    assert caught.value.response["OriginalMessage"] == "Content-type application/x-parquet is not supported."


def _captured(s3, prefix):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_data_capture_writes_the_documented_records(emu, xgboost_model):
    _, features = xgboost_model
    s3 = emu["session"].client("s3")
    kms = emu["session"].client("kms").create_key()["KeyMetadata"]["Arn"]
    capture = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 100,
        "DestinationS3Uri": f"s3://{BUCKET}/capture",
        "KmsKeyId": kms,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }
    _deploy(
        emu["sm"],
        "xgb-all",
        {"Image": XGBOOST, "ModelDataUrl": f"s3://{BUCKET}/xgb/model.tar.gz"},
        DataCaptureConfig=capture,
    )
    runtime = emu["session"].client("sagemaker-runtime")
    bodies = [",".join(repr(float(v)) for v in row) for row in features[:5]]
    answers = [
        runtime.invoke_endpoint(EndpointName="xgb-all", Body=b, ContentType="text/csv")["Body"].read().decode()
        for b in bodies
    ]
    keys = _captured(s3, "capture/xgb-all/primary/")
    assert len(keys) == 5
    records = []
    for key in keys:
        assert re.fullmatch(
            r"capture/xgb-all/primary/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl", key
        )
        obj = s3.get_object(Bucket=BUCKET, Key=key)
        assert obj["ServerSideEncryption"] == "aws:kms" and obj["SSEKMSKeyId"] == kms
        records += [json.loads(line) for line in obj["Body"].read().decode().splitlines()]
    assert sorted(r["captureData"]["endpointInput"]["data"] for r in records) == sorted(bodies)
    assert sorted(r["captureData"]["endpointOutput"]["data"] for r in records) == sorted(answers)
    record = records[0]
    assert record["captureData"]["endpointInput"] | {"data": ""} == {
        "observedContentType": "text/csv",
        "mode": "INPUT",
        "data": "",
        "encoding": "CSV",
    }
    assert record["captureData"]["endpointOutput"]["mode"] == "OUTPUT"
    assert record["captureData"]["endpointOutput"]["encoding"] == "CSV"
    assert set(record["eventMetadata"]) == {"eventId", "inferenceTime"} and record["eventVersion"] == "0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["eventMetadata"]["inferenceTime"])
    assert len({r["eventMetadata"]["eventId"] for r in records}) == 5


def test_data_capture_samples_its_share(emu, xgboost_model):
    _, features = xgboost_model
    capture = {
        "InitialSamplingPercentage": 50,
        "DestinationS3Uri": f"s3://{BUCKET}/half",
        "CaptureOptions": [{"CaptureMode": "Input"}],
    }
    _deploy(
        emu["sm"],
        "xgb-half",
        {"Image": XGBOOST, "ModelDataUrl": f"s3://{BUCKET}/xgb/model.tar.gz"},
        DataCaptureConfig=capture,
    )
    runtime = emu["session"].client("sagemaker-runtime")
    body = ",".join(repr(float(v)) for v in features[0])
    for _ in range(200):
        runtime.invoke_endpoint(EndpointName="xgb-half", Body=body, ContentType="text/csv")
    keys = _captured(emu["session"].client("s3"), "half/xgb-half/primary/")
    assert 80 <= len(keys) <= 120  # the sampler is seeded with the endpoint name: the same count every run
    record = json.loads(emu["session"].client("s3").get_object(Bucket=BUCKET, Key=keys[0])["Body"].read())
    assert set(record["captureData"]) == {"endpointInput"}
