"""Limits at the edge, from the running Settings (RAG_MAX_*), each failure a clear 4xx.

- `BodyLimit`: an ASGI middleware refusing a request body over `max_body_bytes` (413) before
  anything parses it and before the key is checked: a declared Content-Length over the limit is
  answered at once without reading; a body streamed without one is counted and cut off.
  POST /v1/documents has its own, larger limit (`max_upload_bytes`).
- `Limits`: top_k, the question, filter lists, chat messages and the claims of one /v1/verify
  (count and quote characters: a not-found quote costs a closest-passage search) checked against
  the settings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings
from service.errors import ApiError
from service.schemas import FiltersIn

UPLOAD_PATH = "/v1/documents"


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_upload_bytes: int):
        self.app = app
        self.max_body = max_body_bytes
        self.max_upload = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        upload = scope["path"] == UPLOAD_PATH
        limit, setting = (self.max_upload, "RAG_MAX_UPLOAD_BYTES") if upload else (self.max_body, "RAG_MAX_BODY_BYTES")
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await _too_large(send, f"the request body is {int(declared)} bytes; the limit is {limit} ({setting})")
        if upload:  # service/upload.py counts the streamed form itself
            return await self.app(scope, receive, send)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, f"the request body is over the limit of {limit} bytes ({setting})")
            return message

        await self.app(scope, counted, send)


async def _too_large(send: Send, message: str) -> None:
    body = json.dumps({"error": {"type": "too_large", "message": message}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class Limits:
    settings: Settings

    def top_k(self, value: int, field: str = "body.top_k") -> int:
        top = self.settings.max_top_k
        if not 1 <= value <= top:
            raise ApiError(422, "validation_error", f"{field}: must be from 1 to {top} (RAG_MAX_TOP_K), got {value}")
        return value

    def question(self, text: str, field: str) -> str:
        """The question (or query) stripped; 400 when it is empty or longer than the limit."""
        stripped = text.strip()
        if not stripped:
            raise ApiError(400, "invalid_request", f"{field} is empty")
        limit = self.settings.max_question_chars
        if len(stripped) > limit:
            raise ApiError(400, "invalid_request",
                           f"{field} has {len(stripped)} characters; the limit is {limit} (RAG_MAX_QUESTION_CHARS)")
        return stripped

    def filters(self, body: FiltersIn | None, field: str = "body.filters") -> None:
        if body is None:
            return
        most, longest = self.settings.max_filter_values, self.settings.max_filter_value_chars
        for name in ("doc_ids", "symbols", "speakers", "doc_types"):
            values = getattr(body, name)
            if len(values) > most:
                raise ApiError(422, "validation_error", f"{field}.{name}: {len(values)} values; the limit is {most} "
                                                        "(RAG_MAX_FILTER_VALUES)")
            for i, value in enumerate(values):
                if len(value) > longest:
                    raise ApiError(422, "validation_error", f"{field}.{name}.{i}: {len(value)} characters; the limit "
                                                            f"is {longest} (RAG_MAX_FILTER_VALUE_CHARS)")

    def messages(self, count: int) -> None:
        if count > self.settings.max_messages:
            raise ApiError(422, "validation_error", f"body.messages: {count} messages; the limit is "
                                                    f"{self.settings.max_messages} (RAG_MAX_MESSAGES)")

    def message(self, text: str, field: str) -> None:
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise ApiError(400, "invalid_request",
                           f"{field} has {len(text)} characters; the limit is {limit} (RAG_MAX_MESSAGE_CHARS)")

    def claims(self, claims: Sequence[Any], field: str = "body") -> None:
        """One /v1/verify request's claims: at most max_claims, their quotes at most max_claim_chars
        characters in all (a quote that is not found is compared with passages: CPU per character)."""
        most, chars = self.settings.max_claims, self.settings.max_claim_chars
        if len(claims) > most:
            raise ApiError(422, "validation_error", f"{field}: {len(claims)} citations; the limit is {most} per request "
                                                    "(RAG_MAX_CLAIMS): send them in several requests")
        total = sum(len(c.quote) for c in claims)
        if total > chars:
            raise ApiError(422, "validation_error", f"{field}: the quotes hold {total} characters in all; the limit is "
                                                    f"{chars} per request (RAG_MAX_CLAIM_CHARS): send them in several requests")
