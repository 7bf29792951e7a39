"""Reads the cleaning job's report from S3 and says whether enough rows survived."""

import json
import os
from urllib.parse import urlparse

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    where = urlparse(event["report"])
    report = json.loads(s3.get_object(Bucket=where.netloc, Key=where.path.lstrip("/"))["Body"].read())
    minimum = int(os.environ["MIN_ROWS"])
    return {"ok": report["rows_out"] >= minimum, "rows": report["rows_out"], "minimum": minimum}
