"""Prints "ready", then blocks the main thread in time.sleep(30)."""

import time

print("ready", flush=True)
time.sleep(30)
