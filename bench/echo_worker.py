"""The echo worker both sides of bench_emulator run (the real `runpod` SDK).

Sleeps `input.sleep` seconds (async, so jobs overlap up to ECHO_CONCURRENCY) and returns
`input.echo`.
"""

import asyncio
import os

import runpod


async def handler(job):
    data = job["input"]
    await asyncio.sleep(float(data.get("sleep", 0)))
    return {"echo": data.get("echo")}


def concurrency(current):
    return int(os.environ.get("ECHO_CONCURRENCY", "1"))


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "concurrency_modifier": concurrency})
