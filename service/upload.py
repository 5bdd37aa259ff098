"""`POST /v1/documents`: add a .txt, PDF or Word document to the corpus, then rebuild in the background.

    router(get_runtime, corpus_dir, max_upload_bytes) -> APIRouter   # included under /v1 (auth applies)

multipart/form-data: `file` (required), `translation` (optional, the official English) and the
fields of `rag add` (`id`, `symbol`, `kind`, `organ`, `date`, `author`, `title_zh`, `title_en`,
`layout`), plus `dry_run=true` to detect and check without writing (the page's form does that
first to prefill its fields). The body is limited to `max_upload_bytes` (RAG's
Settings.max_upload_bytes): a larger Content-Length is refused before anything is read, and a body
that grows past it while streaming is cut off (413). Success: 201 with rag.add's report and the
reload status; the old index keeps serving until the rebuilt one is swapped in
(`Runtime.start_reload()`). A dry run answers 200 with the report, its `error` naming what a real
add would refuse. Bad input: 400 (unreadable file), 422 (a field: missing, malformed, duplicate),
413 (too large), in the service's one error shape.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from rag.add import FIELDS, KINDS, LAYOUTS, add_files
from rag.errors import InputError, RagError
from service.errors import ApiError

_FORM_SCHEMA = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The document: .txt (UTF-8), .pdf (text layer) or .docx"},
        "translation": {"type": "string", "format": "binary", "description": "Its official English (.txt, .pdf or .docx)"},
        "dry_run": {"type": "boolean", "description": "Detect and check only; write nothing (200)"},
        "id": {"type": "string", "description": "Document id (default: the symbol, else file name + date)"},
        "symbol": {"type": "string", "description": "The official symbol when the document does not print it"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "organ": {"type": "string", "description": "e.g. 安全理事会 / Security Council"},
        "date": {"type": "string", "format": "date"},
        "author": {"type": "string", "description": "Who speaks in a letter, note verbale or working paper"},
        "title_zh": {"type": "string"},
        "title_en": {"type": "string"},
        "layout": {"type": "string", "enum": list(LAYOUTS)},
    },
}


def router(get_runtime: Callable[[], Any], corpus_dir: Path | None, max_upload_bytes: int) -> APIRouter:
    api = APIRouter()

    @api.post("/documents", tags=["corpus"], status_code=201,
              summary="Add a document (.txt, .pdf, .docx): metadata detected, then a background rebuild",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "multipart/form-data": {"schema": _FORM_SCHEMA}}}},
              responses={200: {"description": "dry_run: the report, nothing written"},
                         413: {"description": "The body is larger than RAG's max_upload_bytes"}})
    async def add_document(request: Request, runtime: Any = Depends(get_runtime)) -> JSONResponse:
        if corpus_dir is None:
            raise ApiError(503, "not_ready", "this service was started without a corpus directory to add to")
        form = await _read_form(request, max_upload_bytes)
        with tempfile.TemporaryDirectory(prefix="rag-upload-") as tmp:
            document = await _save(form.get("file"), "file", Path(tmp) / "doc", required=True)
            translation = await _save(form.get("translation"), "translation", Path(tmp) / "en")
            given = {name: form.get(name) for name in FIELDS if isinstance(form.get(name), str)}
            dry_run = str(form.get("dry_run", "")).lower() in ("1", "true", "on", "yes")
            try:
                result = await run_in_threadpool(
                    add_files, corpus_dir, [document[0]], given, {"en": translation[0]} if translation else None,
                    dry_run=dry_run, names=[document[1]],
                    translation_names={"en": translation[1]} if translation else None)
            except RagError as e:
                _raise(e, tmp)
        body = result.to_dict()
        if dry_run:
            return JSONResponse(body, status_code=200)
        if result.error:
            _raise(result.error, "")
        return JSONResponse(body | {"reload": _reload(runtime)}, status_code=201)

    return api


async def _read_form(request: Request, limit: int):
    """The multipart form, refusing a body over `limit` bytes before reading it when the
    Content-Length says so, and while streaming when it does not."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"the upload is {int(declared)} bytes; the limit is {limit} (RAG_MAX_UPLOAD_BYTES)")
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "invalid_request", "send the document as multipart/form-data with a 'file' part")
    received = 0

    async def receive() -> dict:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise ApiError(413, "too_large", f"the upload is over the limit of {limit} bytes (RAG_MAX_UPLOAD_BYTES)")
        return message

    try:
        return await Request(request.scope, receive).form(max_files=2, max_fields=20)
    except ApiError:
        raise
    except Exception as e:  # the multipart parser's own errors (malformed body, too many parts)
        raise ApiError(400, "invalid_request", f"unreadable multipart body: {e}") from e


async def _save(part: Any, field: str, folder: Path, required: bool = False) -> tuple[Path, str] | None:
    """Write an uploaded part to `folder` under its own file name; (path, original name)."""
    if part is None or (isinstance(part, str) and not part):
        if required:
            raise ApiError(422, "validation_error", f"{field}: a file is required (.txt, .pdf or .docx)")
        return None
    if not isinstance(part, UploadFile):
        raise ApiError(422, "validation_error", f"{field}: expected a file upload, got a text field")
    name = Path(part.filename or "").name
    if not name or Path(name).suffix.lower() not in (".txt", ".pdf", ".docx"):
        raise ApiError(422, "validation_error", f"{field}: {name or 'the file'!r} is not a .txt, .pdf or .docx file")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(await part.read())
    return path, name


def _raise(error: RagError, tmp: str) -> None:
    """The library's error as the service's (a field the form got wrong is a 422), naming the
    uploaded file rather than its temporary copy."""
    message = " ".join(str(error).split())
    for folder in ("doc", "en"):
        message = message.replace(f"{tmp}/{folder}/", "") if tmp else message
    if isinstance(error, InputError):
        raise ApiError(422, "validation_error", message) from error
    raise ApiError(error.http_status, error.type, message) from error


def _reload(runtime: Any) -> dict[str, Any]:
    """Start the background rebuild; the old index answers until the new one is ready."""
    started = runtime.start_reload()
    return started if isinstance(started, dict) else {"status": "started" if started is not False else "already_running"}
