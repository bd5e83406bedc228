"""A small OpenAI-compatible server (`/v1/models`, `/v1/chat/completions`, plain and streamed)
for a RunPod load-balancing endpoint. No GPU and no weights: the "model" echoes the last user
message word by word, so the wire format can be tested anywhere.

Listens on $PORT (RunPod sets it); the health path answers 200 once started.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

MODEL = os.environ.get("MODEL_NAME", "echo-1")
app = FastAPI(title="openai-compatible echo")


class Message(BaseModel):
    role: str
    content: str


class ChatRequest(BaseModel):
    model: str
    messages: list[Message]
    stream: bool = False
    max_tokens: int | None = None


@app.get(os.environ.get("HEALTH_CHECK_PATH", "/ping"))
def ping() -> dict[str, str]:
    return {"status": "healthy"}


@app.get("/v1/models")
def models() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "podkit"}],
    }


def reply_words(request: ChatRequest) -> list[str]:
    last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    words = ["You", "said:", *last.split()]
    return words[: request.max_tokens] if request.max_tokens else words


@app.post("/v1/chat/completions", response_model=None)
def chat(request: ChatRequest) -> dict[str, Any] | StreamingResponse:
    if request.model != MODEL:
        raise HTTPException(404, detail=f"model {request.model!r} not found; try {MODEL!r}")
    words = reply_words(request)
    ident = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    if request.stream:
        return StreamingResponse(chunks(ident, words), media_type="text/event-stream")
    prompt = sum(len(m.content.split()) for m in request.messages)
    return {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": " ".join(words)},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": len(words),
            "total_tokens": prompt + len(words),
        },
    }


def chunks(ident: str, words: list[str]) -> Iterator[str]:
    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        body = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for n, word in enumerate(words):
        yield chunk({"content": word if n == 0 else f" {word}"})
    yield chunk({}, "stop")
    yield "data: [DONE]\n\n"


if __name__ == "__main__":
    host = os.environ.get("PODKIT_HTTP_HOST", "0.0.0.0")  # the local RunPod uses loopback
    uvicorn.run(app, host=host, port=int(os.environ.get("PORT", "80")))
