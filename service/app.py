"""The HTTP face: FastAPI app over any rag.protocols.QA, loaded once per process in the background.

    create_app(load_qa, api_key=None, index_name="default") -> FastAPI
    serve(load_qa, host="127.0.0.1", port=8000, api_key=None)   # what `rag serve` calls

Endpoints: /healthz, /readyz (open); /v1/search, /v1/ask, /v1/documents, /v1/documents/{id},
/v1/speakers, /v1/chat/completions, /v1/models (Bearer key when one is set); /docs; the web page
from service/static/ at / when that directory exists.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles

from rag.protocols import QA
from service import errors, openai_compat
from service.errors import ApiError, check_question
from service.runtime import Runtime
from service.schemas import AskRequest, ErrorBody, SearchRequest

STATIC_DIR = Path(__file__).parent / "static"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in
    ((400, "Empty or over-long question, or input the library rejects"), (401, "Missing or wrong API key"),
     (422, "Validation error naming the field"), (500, "Unexpected error (no stack trace)"),
     (503, "The index is still loading or failed to load"))}


def _v1_routes(get_runtime: Callable[[], Runtime]) -> APIRouter:
    api = APIRouter()

    @api.post("/search", tags=["rag"], summary="Ranked passages for a query")
    def search(body: SearchRequest, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
        query = check_question(body.query, "query")
        return runtime.search(query, body.top_k, runtime.filters(body.filters)).to_dict()

    @api.post("/ask", tags=["rag"], summary="A cited answer: [n] in the answer is citations[n-1]")
    def ask(body: AskRequest, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
        started = time.perf_counter()
        question = check_question(body.question, "question")
        answer, timings = runtime.ask(question, body.top_k, runtime.filters(body.filters), body.mode)
        total = round((time.perf_counter() - started) * 1000, 1)
        return answer.to_dict() | {"timings_ms": timings | {"total": total}}

    @api.get("/documents", tags=["corpus"], summary="Every document with its chunk count and speakers")
    def documents(runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
        return {"documents": runtime.catalog.documents()}

    @api.get("/documents/{doc_id:path}", tags=["corpus"], responses={404: {"model": ErrorBody}},
             summary="One document: metadata, turns and chunks in order (URL-encode the id)")
    def document(doc_id: str, runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
        catalog = runtime.catalog
        doc = catalog.find(doc_id)
        if doc is None:
            raise ApiError(404, "not_found", f"unknown document {doc_id!r}; known: {', '.join(catalog.doc_ids)}")
        return catalog.document(doc)

    @api.get("/speakers", tags=["corpus"], summary="Who speaks where")
    def speakers(runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
        return {"speakers": runtime.catalog.speakers()}

    return api


def _auth(api_key: str) -> Callable[..., None]:
    bearer = HTTPBearer(auto_error=False, description="the value of RAG_API_KEY")

    def require_key(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if credentials is None:
            raise ApiError(401, "unauthorized", "missing 'Authorization: Bearer <key>' header",
                           headers={"WWW-Authenticate": "Bearer"})
        if not secrets.compare_digest(credentials.credentials.encode(), api_key.encode()):
            raise ApiError(401, "unauthorized", "wrong API key", headers={"WWW-Authenticate": "Bearer"})

    return require_key


def create_app(load_qa: Callable[[], QA], *, api_key: str | None = None, index_name: str = "default",
               static_dir: Path | None = STATIC_DIR) -> FastAPI:
    """`load_qa` runs once, in a background thread started with the app; /healthz is 503 until it returns."""
    runtime = Runtime(load_qa, index_name)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield

    app = FastAPI(title="unrag", lifespan=lifespan,
                  description="Cited question answering over Chinese UN documents.")
    app.state.runtime = runtime
    errors.install(app)

    def get_runtime() -> Runtime:
        return runtime

    v1 = APIRouter(prefix="/v1", responses=_ERRORS,
                   dependencies=[Depends(_auth(api_key))] if api_key else [])
    v1.include_router(_v1_routes(get_runtime))
    v1.include_router(openai_compat.router(get_runtime))
    app.include_router(v1)

    def health(details: bool) -> JSONResponse:
        body = runtime.readiness() if details else {"status": runtime.status}
        if runtime.status != "ready" and "error" not in body:
            body["error"] = {"type": "not_ready", "message": runtime.error or "the index is loading"}
        return JSONResponse(body, status_code=200 if runtime.status == "ready" else 503)

    @app.get("/healthz", tags=["health"], summary="200 once questions can be answered, 503 before")
    def healthz() -> JSONResponse:
        return health(details=False)

    @app.get("/readyz", tags=["health"], summary="Like /healthz, with index name, model, chunks, documents")
    def readyz() -> JSONResponse:
        return health(details=True)

    if static_dir is not None and static_dir.is_dir():  # last: it must not shadow the routes above
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="static")
    return app


def serve(load_qa: Callable[[], QA], host: str = "127.0.0.1", port: int = 8000,
          api_key: str | None = None, *, index_name: str = "default") -> None:
    """Run the service with uvicorn until interrupted. Pass `Settings.from_env().api_key` to honour RAG_API_KEY."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(create_app(load_qa, api_key=api_key, index_name=index_name), host=host, port=port)
