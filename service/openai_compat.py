"""OpenAI-compatible chat: `POST /v1/chat/completions` (plain and streaming) and `GET /v1/models`.

Follow-ups: the last user message is resolved against the earlier user messages into one
standalone question (rag.followup: the earlier topic, document and speaker carried over, a newly
named speaker replacing the earlier one, pronouns resolved); assistant and system messages are
never read as questions. The question actually asked is in the response (`question`,
`resolution`, `diagnostics.followup`).

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
from fastapi.responses import JSONResponse, StreamingResponse

from rag.followup import Resolution, resolve
from rag.records import Answer, Filters
from rag.sentences import FULL_STOPS
from service.errors import ApiError
from service.limits import Limits
from service.runtime import Runtime
from service.schemas import ChatCompletionOut, ChatMessage, ChatRequest

MODELS = {"unrag": "extractive", "unrag-llm": "llm"}  # model id -> answer mode
_SENTENCE_END = re.compile(f"(?<=[{FULL_STOPS}\n])")


def user_messages(messages: list[ChatMessage], limits: Limits) -> list[str]:
    """The text of every user message, in order; the last one is the question (its own limit)."""
    limits.messages(len(messages))
    texts: list[tuple[int, str]] = []
    for i, message in enumerate(messages):
        field = f"messages.{i}.content"
        if isinstance(message.content, list):
            others = sorted({p.type for p in message.content if p.type != "text"})
            if others and message.role == "user":
                raise ApiError(422, "validation_error",
                               f"{field}: only text parts are supported, got {', '.join(others)}")
        text = (message.content if isinstance(message.content, str) else
                "".join(p.text or "" for p in message.content or []))
        limits.message(text, field)
        if message.role == "user":
            texts.append((i, text))
    if not texts:
        raise ApiError(400, "invalid_request", "messages: there is no user message to answer")
    last, question = texts[-1]
    if messages[last].content is None:
        raise ApiError(400, "invalid_request", f"messages.{last}.content is empty")
    question = limits.question(question, f"messages.{last}.content")
    earlier = [t.strip() for _, t in texts[:-1] if t.strip()]
    return [*earlier, question]


def pieces(text: str) -> list[str]:
    """The answer cut after sentence ends, so streamed deltas never split a [n] marker."""
    return [p for p in _SENTENCE_END.split(text) if p] or [""]


class _Completion:
    """The fields shared by the full response and by every streamed chunk."""

    def __init__(self, model: str, answer: Answer, resolution: Resolution):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.answer = answer
        self.resolution = resolution
        self.citations = answer.to_dict()["citations"]

    def head(self, object_: str) -> dict[str, Any]:
        return {"id": self.id, "object": object_, "created": self.created, "model": self.model}

    def extra(self) -> dict[str, Any]:
        return {"citations": self.citations, "answerable": self.answer.answerable,
                "question": self.resolution.question, "resolution": self.resolution.to_dict()}

    def full(self) -> dict[str, Any]:
        return self.head("chat.completion") | {
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": self.answer.answer}}],
            # no tokens are sampled; the counts are reported as zero rather than estimated
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        } | self.extra() | {"diagnostics": self.answer.diagnostics}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = self.head("chat.completion.chunk") | {
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]} | extra
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def events(self, include_usage: bool) -> Iterator[str]:
        yield self._chunk({"role": "assistant", "content": ""})
        for piece in pieces(self.answer.answer):
            yield self._chunk({"content": piece})
        yield self._chunk({}, "stop", **self.extra())
        if include_usage:
            usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
            body = self.head("chat.completion.chunk") | {"choices": [], "usage": usage}
            yield f"data: {json.dumps(body)}\n\n"
        yield "data: [DONE]\n\n"


def _merge(carried: Filters | None, given: Filters | None) -> Filters | None:
    """The request's own filters win; carried documents apply only when it names none."""
    if carried is None:
        return given
    if given is None:
        return carried
    return given if given.doc_ids or given.symbols else Filters(**(given.__dict__ | {"doc_ids": carried.doc_ids}))


def answer_chat(runtime: Runtime, messages: list[str], top_k: int, filters: Filters | None,
                mode: str) -> tuple[Answer, Resolution]:
    """Resolve the follow-up, then answer the standalone question (one worker-thread call)."""
    loaded = runtime.loaded
    resolution = resolve(messages, loaded.catalog.lookup, loaded.speakers, loaded.gazetteer)
    answer = runtime.ask(resolution.question, top_k, _merge(resolution.filters(), filters), mode)
    diagnostics = answer.diagnostics | {"followup": resolution.to_dict()}
    return Answer(answer.question, answer.answer, answer.answerable, answer.citations, diagnostics), resolution


def router(get_runtime: Callable[[], Runtime], limits: Limits) -> APIRouter:
    """The routes; `get_runtime` is the app's dependency that yields the Runtime."""
    api = APIRouter(tags=["openai"])

    @api.get("/models", summary="Models (OpenAI format)")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "unrag", "mode": mode}
            for name, mode in MODELS.items()]}

    @api.post("/chat/completions", summary="Chat completions (OpenAI format), cited; follow-ups resolved",
              responses={200: {"model": ChatCompletionOut,
                               "description": "chat.completion, or text/event-stream of chat.completion.chunk "
                                              "when stream is true"}})
    async def chat(body: ChatRequest, runtime: Runtime = Depends(get_runtime)) -> Any:
        if body.model not in MODELS:
            raise ApiError(404, "model_not_found",
                           f"model: unknown model {body.model!r}; available: {', '.join(MODELS)}")
        messages = user_messages(body.messages, limits)
        limits.filters(body.filters)
        top_k = limits.top_k(body.top_k)
        filters = runtime.filters(body.filters)
        (answer, resolution), _ = await runtime.run(answer_chat, runtime, messages, top_k, filters, MODELS[body.model])
        completion = _Completion(body.model, answer, resolution)
        if not body.stream:
            return JSONResponse(completion.full())
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(completion.events(include_usage), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return api
