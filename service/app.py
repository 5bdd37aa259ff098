"""The HTTP face: FastAPI app over any rag.protocols.QA, loaded once per process in the background.

    create_app(load_qa, api_key=None, index_name="default", settings=Settings()) -> FastAPI
    serve(load_qa, host="127.0.0.1", port=8000, api_key=None)   # what `rag serve` calls
    serve_workers(n, host, port)                                 # `rag serve --workers N`: app_from_env per worker

Endpoints: /healthz, /readyz (open; /readyz details only with the key when one is set);
/v1/search, /v1/ask, /v1/verify, /v1/documents, /v1/documents/{id}, /v1/speakers,
/v1/chat/completions, /v1/models (Bearer key when one is set); /docs; the web page from
service/static/ at / when that directory exists. Request bodies over RAG_MAX_BODY_BYTES are
refused (413) before they are parsed or the key is checked; CORS answers only for
RAG_CORS_ORIGINS (off by default). README "Security".
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.routing import Match, Mount

from rag.config import Settings
from rag.errors import InputError
from rag.protocols import QA
from rag.verify import claims_of, summary
from service import errors, openai_compat, upload
from service.errors import ApiError
from service.limits import BodyLimit, Limits
from service.runtime import Runtime
from service.schemas import (AnswerIn, AskRequest, AskResponse, ClaimIn, ErrorBody, SearchRequest, SearchResponse,
                             VerifyResponse)

STATIC_DIR = Path(__file__).parent / "static"
API_PREFIXES = ("/v1/", "/healthz", "/readyz", "/docs", "/redoc", "/openapi.json")
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in
    ((400, "Empty or over-long question, invalid Unicode (lone surrogate, NUL), or input the library rejects"),
     (401, "Missing or wrong API key"), (413, "The request body is over RAG_MAX_BODY_BYTES"),
     (422, "Validation error naming the field"), (500, "Unexpected error (no stack trace)"),
     (503, "The index is still loading or failed to load"))}


def _v1_routes(get_runtime: Callable[[], Runtime], limits: Limits) -> APIRouter:
    api = APIRouter()

    @api.post("/search", tags=["rag"], summary="Ranked passages for a query",
              responses={200: {"model": SearchResponse, "description": "the passages, best first"}})
    async def search(body: SearchRequest, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
        query = limits.question(body.query, "query")
        limits.filters(body.filters)
        filters = runtime.filters(body.filters)
        result, _ = await runtime.run(runtime.search, query, limits.top_k(body.top_k), filters)
        return JSONResponse(result.to_dict())

    @api.post("/ask", tags=["rag"], summary="A cited answer: [n] in the answer is citations[n-1]",
              responses={200: {"model": AskResponse, "description": "the answer and its citations"}})
    async def ask(body: AskRequest, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
        started = time.perf_counter()
        question = limits.question(body.question, "question")
        limits.filters(body.filters)
        filters = runtime.filters(body.filters)
        t0 = time.perf_counter()
        answer, queued = await runtime.run(runtime.ask, question, limits.top_k(body.top_k), filters, body.mode)
        now = time.perf_counter()
        timings = {"queued": queued, "answer": round((now - t0) * 1000 - queued, 1),
                   "total": round((now - started) * 1000, 1)}
        return JSONResponse(answer.to_dict() | {"timings_ms": timings})

    @api.post("/verify", tags=["rag"], summary="Check citations: is the quote in that document, in whose turn, where",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "oneOf": [{"$ref": "#/components/schemas/ClaimIn"},
                            {"type": "array", "items": {"$ref": "#/components/schemas/ClaimIn"}},
                            {"$ref": "#/components/schemas/AnswerIn"}]}}}}},
              responses={200: {"model": VerifyResponse, "description": "one result per claim"}})
    async def verify(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
        claims = _claims(await _json_body(request))
        limits.claims(claims)
        results, _ = await runtime.run(runtime.loaded.verifier.verify_all, claims, lane="verify")
        return JSONResponse({"results": [r.to_dict() for r in results], "summary": summary(results)})

    @api.get("/documents", tags=["corpus"], summary="Every document with its chunk count and speakers")
    def documents(runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
        return {"documents": runtime.catalog.documents_summary()}

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


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ApiError(422, "validation_error", f"body: invalid JSON ({e}); send the body as JSON with the header "
                                                "'Content-Type: application/json'") from e


def _claims(body: Any) -> list:
    """The claims of a /v1/verify body (rag.verify.claims_of), their text checked like every other
    field (400 for a lone surrogate or a NUL)."""
    items = body if isinstance(body, list) else [body]
    try:
        for i, item in enumerate(items):
            if isinstance(item, dict):
                (AnswerIn if "citations" in item else ClaimIn).model_validate(item)
        return claims_of(body)
    except InputError as e:
        raise ApiError(422, "validation_error", str(e)) from e
    except ValidationError as e:  # a wrong type, a missing or unknown field, invalid text
        where = "body" + (f"[{i}]" if isinstance(body, list) else "")
        details = "; ".join(f"{'.'.join([where, *map(str, err['loc'])])}: {err['msg']}" for err in e.errors())
        if any(err["type"] == "invalid_text" for err in e.errors()):
            raise ApiError(400, "invalid_request", f"{details}; send valid Unicode text") from e
        raise ApiError(422, "validation_error", details) from e


def _auth(api_key: str) -> Callable[..., None]:
    bearer = HTTPBearer(auto_error=False, description="the value of RAG_API_KEY")

    def require_key(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if credentials is None:
            raise ApiError(401, "unauthorized", "missing 'Authorization: Bearer <key>' header",
                           headers={"WWW-Authenticate": "Bearer"})
        if not _key_ok(credentials.credentials, api_key):
            raise ApiError(401, "unauthorized", "wrong API key", headers={"WWW-Authenticate": "Bearer"})

    return require_key


def _key_ok(given: str, api_key: str) -> bool:
    return secrets.compare_digest(given.encode("utf-8", "replace"), api_key.encode())


class _PageMount(Mount):
    """The static page at /, which never answers for an API path: a wrong method on /v1/search
    stays a 405 and an unknown /v1 path a 404 in the API's error shape."""

    def matches(self, scope: Any) -> tuple[Match, Any]:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def create_app(load_qa: Callable[[], QA], *, api_key: str | None = None, index_name: str = "default",
               static_dir: Path | None = STATIC_DIR, corpus_dir: Path | None = None,
               settings: Settings | None = None) -> FastAPI:
    """`load_qa` runs once, in a background thread started with the app; /healthz is 503 until it
    returns. `settings` gives the limits and CORS origins (default: Settings(), no environment)."""
    settings = settings or Settings()
    runtime = Runtime(load_qa, index_name, settings, corpus_dir)
    limits = Limits(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield

    app = FastAPI(title="unrag", lifespan=lifespan,
                  description="Cited question answering over Chinese UN documents. Every field is described "
                              "in the schemas below; errors share one shape (ErrorBody).")
    app.state.runtime = runtime
    errors.install(app)

    def get_runtime() -> Runtime:
        return runtime

    v1 = APIRouter(prefix="/v1", responses=_ERRORS,
                   dependencies=[Depends(_auth(api_key))] if api_key else [])
    v1.include_router(_v1_routes(get_runtime, limits))
    v1.include_router(openai_compat.router(get_runtime, limits))
    v1.include_router(upload.router(get_runtime, corpus_dir, settings.max_upload_bytes))
    app.include_router(v1)
    _health_routes(app, runtime, api_key)
    _document_models(app, (ClaimIn, AnswerIn))

    if static_dir is not None and static_dir.is_dir():  # last: it must not shadow the routes above
        app.router.routes.append(_PageMount("/", app=StaticFiles(directory=static_dir, html=True), name="static"))
    app.add_middleware(BodyLimit, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"], max_age=600)
    return app


def _document_models(app: FastAPI, models: tuple[type, ...]) -> None:
    """Put request models that a route reads by hand (/v1/verify takes three shapes) into the
    OpenAPI components, so the page documents their fields."""
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = default()
            components = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(schema.pop("$defs", {}))
                components[model.__name__] = schema
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _health_routes(app: FastAPI, runtime: Runtime, api_key: str | None) -> None:
    """/healthz and /readyz answer on the event loop (never behind busy worker threads). With a key
    set, only a caller holding it sees details: paths, versions, hashes and load errors stay hidden."""

    def authorized(request: Request) -> bool:
        if not api_key:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and _key_ok(token.strip(), api_key)

    def health(request: Request, details: bool) -> JSONResponse:
        shown = authorized(request)
        body = runtime.readiness(details and shown)
        if runtime.status != "ready":
            message = runtime.error or "the index is loading"
            if not shown and runtime.status == "failed":
                message = "the index failed to load; the reason is in the server log (and in /readyz with the key)"
            body["error"] = {"type": "not_ready", "message": message}
        return JSONResponse(body, status_code=200 if runtime.status == "ready" else 503)

    @app.get("/healthz", tags=["health"], summary="200 once questions can be answered, 503 before")
    async def healthz(request: Request) -> JSONResponse:
        return health(request, details=False)

    @app.get("/readyz", tags=["health"],
             summary="Like /healthz; with the key (or none set): index, model, chunks, documents, reload, config")
    async def readyz(request: Request) -> JSONResponse:
        return health(request, details=True)


def serve(load_qa: Callable[[], QA], host: str = "127.0.0.1", port: int = 8000,
          api_key: str | None = None, *, index_name: str = "default", corpus_dir: Path | None = None,
          settings: Settings | None = None) -> None:
    """Run the service with uvicorn until interrupted. Pass `Settings.from_env().api_key` to honour RAG_API_KEY."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(create_app(load_qa, api_key=api_key, index_name=index_name, corpus_dir=corpus_dir, settings=settings),
                host=host, port=port)


# ---------------------------------------------------------------- several worker processes

SERVE_ENV = "RAG_SERVE_ARGS"  # how `rag serve --workers N` hands its arguments to each worker


def serve_workers(workers: int, host: str, port: int, *, index_name: str, corpus_dir: Path,
                  model: str | None) -> None:
    """`workers` uvicorn processes on one port, each loading the (memory-mapped) index itself
    through `app_from_env`. The caller builds the index first, so workers only load it."""
    import uvicorn

    os.environ[SERVE_ENV] = json.dumps({"index": index_name, "corpus": str(corpus_dir), "model": model})
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run("service.app:app_from_env", factory=True, workers=workers, host=host, port=port)


def app_from_env() -> FastAPI:
    """The app of one worker process of `serve_workers`: settings from RAG_*, arguments from RAG_SERVE_ARGS."""
    from rag.pipeline import build_and_load

    settings = Settings.from_env()
    args = json.loads(os.environ.get(SERVE_ENV) or "{}")
    name = args.get("index", "default")
    corpus = Path(args["corpus"]) if args.get("corpus") else settings.corpus_dir

    def load() -> QA:  # the index is current (the parent built it): loading only, unless a reload follows an add
        pipeline, _ = build_and_load(corpus, settings.index_path(name), args.get("model"), settings=settings)
        pipeline.warm_up()
        return pipeline

    return create_app(load, api_key=settings.api_key, index_name=name, corpus_dir=corpus, settings=settings)
