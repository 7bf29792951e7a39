#!/usr/bin/env python3
"""Reference app: the sm_constructs foundation and pipeline, synthesized env-agnostic."""

from aws_cdk import App, Stack

app = App()
Stack(app, "SmConstructsReference")
app.synth()
