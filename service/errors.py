"""Every error the service answers, in one shape: `{"error": {"type": ..., "message": ...}}`.

Validation errors (422) name the field; invalid text (a lone surrogate, a NUL) is a 400 naming
the field; library errors (rag.errors.RagError) answer the status their
class names (`library_errors`); anything
unexpected answers 500 with a generic message while the traceback goes to the server log only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from rag.errors import RagError

log = logging.getLogger("service")

_HTTP_TYPES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "too_large", 503: "not_ready"}


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers


def error_body(type_: str, message: str) -> dict[str, Any]:
    """The one error shape. A message quoting the client's input may hold a lone surrogate, which
    UTF-8 cannot encode: it is written as a \\udXXX escape so the error itself never becomes a 500."""
    return {"error": {"type": type_, "message": message.encode("utf-8", "backslashreplace").decode("utf-8")}}


def error_response(status: int, type_: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(type_, message), status_code=status, headers=headers)


@contextmanager
def library_errors() -> Iterator[None]:
    """The library's errors (rag.errors) to HTTP, in one place: each class carries its status and
    type (InputError 400, FilterError 422, NotFoundError 404, IndexBusyError 409, IndexLoadError
    and ModelError 503, ...)."""
    try:
        yield
    except RagError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise ApiError(exc.http_status, exc.type, message) from exc


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts) if parts else "request"


def validation_message(errors: Sequence[dict[str, Any]], request: Request) -> str:
    messages = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        msg = err.get("msg", "invalid value")
        ctx = err.get("ctx") or {}
        if err.get("type") == "json_invalid" and ctx.get("error"):
            msg = f"{msg}: {ctx['error']}"
        messages.append(f"{_field(loc)}: {msg}")
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type and any(tuple(e.get("loc", ())) == ("body",) for e in errors):
        messages.append("send the body as JSON with the header 'Content-Type: application/json'")
    return "; ".join(messages) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.type, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "invalid_text" for e in exc.errors()):  # lone surrogate, NUL: bad input, 400
            bad = [e for e in exc.errors() if e.get("type") == "invalid_text"]
            return error_response(400, "invalid_request", validation_message(bad, request) +
                                  "; send valid Unicode text")
        return error_response(422, "validation_error", validation_message(exc.errors(), request))

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        type_ = _HTTP_TYPES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, type_, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # the server (uvicorn) logs the traceback; the client never sees it
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return error_response(500, "internal_error",
                              f"internal error ({type(exc).__name__}); the details are in the server log")
