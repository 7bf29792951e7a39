"""A processing job that keeps running until it is stopped (what `sm-local reset` must stop)."""

import time

print("holding", flush=True)
time.sleep(600)
