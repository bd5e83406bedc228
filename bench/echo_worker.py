"""The echo worker the benches run on both sides (the real `runpod` SDK).

Sleeps `input.sleep` seconds and returns `input.echo`. ECHO_MODE=async (default: jobs overlap
up to ECHO_CONCURRENCY) or sync (a plain `def handler`, blocking the SDK's event loop).
"""

import asyncio
import os
import time

import runpod


async def handler(job):
    data = job["input"]
    await asyncio.sleep(float(data.get("sleep", 0)))
    return {"echo": data.get("echo")}


def sync_handler(job):
    data = job["input"]
    time.sleep(float(data.get("sleep", 0)))
    return {"echo": data.get("echo")}


def concurrency(current):
    return int(os.environ.get("ECHO_CONCURRENCY", "1"))


if __name__ == "__main__":
    chosen = sync_handler if os.environ.get("ECHO_MODE") == "sync" else handler
    runpod.serverless.start({"handler": chosen, "concurrency_modifier": concurrency})
