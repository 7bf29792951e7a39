"""Spark: splits the featured rows into the XGBoost container's layout (label first, no header)."""

import argparse

from pyspark.sql import SparkSession

parser = argparse.ArgumentParser()
parser.add_argument("--input", default="/opt/ml/processing/input/raw")
parser.add_argument("--output", default="/opt/ml/processing/output")
args = parser.parse_args()

spark = SparkSession.builder.appName("byo-split").getOrCreate()
spark.conf.set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")  # no _SUCCESS marker files
data = spark.read.csv(args.input, header=True, inferSchema=True)
features = [c for c in data.columns if c != "label"]
train, validation, batch = data.randomSplit([0.7, 0.15, 0.15], seed=7)
for name, part, columns in (
    ("train", train, ["label", *features]),
    ("validation", validation, ["label", *features]),
    ("batch", batch, features),
):
    part.select(*columns).coalesce(1).write.mode("overwrite").csv(f"{args.output}/{name}", header=False)
print(f"split {data.count()} rows into train {train.count()}, validation {validation.count()}, batch {batch.count()}")
spark.stop()
