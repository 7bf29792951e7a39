"""Spark: the clickstream's page views grouped into sessions (a visitor's views at most GAP_MINUTES
apart), one row per session with what the visitor did in it."""

import argparse

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

GAP_MINUTES = 30

parser = argparse.ArgumentParser()
parser.add_argument("--events", default="/opt/ml/processing/input/events")
parser.add_argument("--output", default="/opt/ml/processing/output/sessions")
args = parser.parse_args()

spark = SparkSession.builder.appName("sessionize").getOrCreate()
spark.conf.set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")  # no _SUCCESS marker files
events = spark.read.csv(args.events, header=True).withColumn("at", F.to_timestamp("time"))
by_visitor = Window.partitionBy("visitor").orderBy("at")
gap = F.col("at").cast("long") - F.lag("at").over(by_visitor).cast("long")
started = F.when(gap.isNull() | (gap > GAP_MINUTES * 60), 1).otherwise(0)
numbered = events.withColumn("session", F.sum(started).over(by_visitor.rowsBetween(Window.unboundedPreceding, 0)))
sessions = numbered.groupBy("visitor", "session").agg(
    F.min("at").alias("started"),
    F.count(F.when(F.col("page") != "checkout", 1)).alias("views"),
    F.count(F.when(F.col("page") == "product", 1)).alias("products"),
    F.count(F.when(F.col("page") == "cart", 1)).alias("carts"),
    (F.max("at").cast("long") - F.min("at").cast("long")).alias("seconds"),
    F.max(F.when(F.col("page") == "checkout", 1).otherwise(0)).alias("bought"),
)
sessions = sessions.withColumn("session_id", F.concat_ws("-", "visitor", "session")).orderBy("session_id").cache()
columns = ["session_id", "started", "views", "products", "carts", "seconds", "bought"]
sessions.select(*columns).coalesce(1).write.mode("overwrite").csv(args.output, header=True)
print(f"{sessions.count()} sessions (gap {GAP_MINUTES} minutes)")
spark.stop()
