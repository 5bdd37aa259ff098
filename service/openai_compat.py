"""OpenAI-compatible chat: `POST /v1/chat/completions` (plain and streaming) and `GET /v1/models`.

Follow-up rule: the question is the text of the LAST user message, alone. Earlier turns (user,
assistant, system) are ignored, so a follow-up such as "what about China?" is answered as written;
clients should send self-contained questions. Rewriting follow-ups from earlier turns would mix
the speakers of two questions into one retrieval, and a wrong speaker is the worst failure here.

The cited answer is `choices[0].message.content` (with its [n] markers, exactly as /v1/ask gives
it) and a top-level `citations` array holds the passages, `id` = n. Streaming sends the same
content as `chat.completion.chunk` events and the citations in the final chunk, before `[DONE]`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from rag.records import Answer
from rag.sentences import FULL_STOPS
from service.errors import ApiError, check_question
from service.runtime import Runtime
from service.schemas import ChatMessage, ChatRequest

MODELS = {"unrag": "extractive", "unrag-llm": "llm"}  # model id -> answer mode
_SENTENCE_END = re.compile(f"(?<=[{FULL_STOPS}\n])")


def question_of(messages: list[ChatMessage]) -> str:
    """The text of the last user message (see the follow-up rule above)."""
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.role != "user":
            continue
        field = f"messages.{i}.content"
        if message.content is None:
            raise ApiError(400, "invalid_request", f"{field} is empty")
        if isinstance(message.content, str):
            return check_question(message.content, field)
        others = sorted({p.type for p in message.content if p.type != "text"})
        if others:
            raise ApiError(422, "validation_error",
                           f"{field}: only text parts are supported, got {', '.join(others)}")
        return check_question("".join(p.text or "" for p in message.content), field)
    raise ApiError(400, "invalid_request", "messages: there is no user message to answer")


def pieces(text: str) -> list[str]:
    """The answer cut after sentence ends, so streamed deltas never split a [n] marker."""
    return [p for p in _SENTENCE_END.split(text) if p] or [""]


class _Completion:
    """The fields shared by the full response and by every streamed chunk."""

    def __init__(self, model: str, answer: Answer):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.answer = answer
        self.citations = answer.to_dict()["citations"]

    def head(self, object_: str) -> dict[str, Any]:
        return {"id": self.id, "object": object_, "created": self.created, "model": self.model}

    def full(self) -> dict[str, Any]:
        return self.head("chat.completion") | {
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": self.answer.answer}}],
            # no tokens are sampled; the counts are reported as zero rather than estimated
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": self.citations,
            "answerable": self.answer.answerable,
        }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = self.head("chat.completion.chunk") | {
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]} | extra
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def events(self, include_usage: bool) -> Iterator[str]:
        yield self._chunk({"role": "assistant", "content": ""})
        for piece in pieces(self.answer.answer):
            yield self._chunk({"content": piece})
        yield self._chunk({}, "stop", citations=self.citations, answerable=self.answer.answerable)
        if include_usage:
            usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
            body = self.head("chat.completion.chunk") | {"choices": [], "usage": usage}
            yield f"data: {json.dumps(body)}\n\n"
        yield "data: [DONE]\n\n"


def router(get_runtime: Callable[[], Runtime]) -> APIRouter:
    """The routes; `get_runtime` is the app's dependency that yields the Runtime."""
    api = APIRouter(tags=["openai"])

    @api.get("/models", summary="Models (OpenAI format)")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "unrag", "mode": mode}
            for name, mode in MODELS.items()]}

    @api.post("/chat/completions", summary="Chat completions (OpenAI format), cited")
    def chat(body: ChatRequest, runtime: Runtime = Depends(get_runtime)) -> Any:
        if body.model not in MODELS:
            raise ApiError(404, "model_not_found",
                           f"model: unknown model {body.model!r}; available: {', '.join(MODELS)}")
        question = question_of(body.messages)
        answer, _ = runtime.ask(question, body.top_k, runtime.filters(body.filters), MODELS[body.model])
        completion = _Completion(body.model, answer)
        if not body.stream:
            return completion.full()
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(completion.events(include_usage), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api
