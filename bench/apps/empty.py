"""The floor: an empty CDK app (Python, jsii kernel and aws-cdk-lib start-up, one empty stack)."""

import os

from aws_cdk import App, Stack

app = App(outdir=os.environ.get("CDK_OUTDIR"))
Stack(app, "Empty")
app.synth()
