"""The one QA object of the process: loaded in a background thread, then shared by all requests.

The pipeline is not assumed to be thread-safe, so search and ask run one at a time under a lock
(FastAPI runs the sync endpoints in its threadpool; the event loop never blocks on them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from rag.protocols import QA
from rag.records import Answer, Filters, SearchResult
from rag.text import squash
from service.browse import Catalog
from service.errors import ApiError, library_errors
from service.schemas import FiltersIn

log = logging.getLogger("service")


class Runtime:
    def __init__(self, load_qa: Callable[[], QA], index_name: str):
        self._load_qa = load_qa
        self.index_name = index_name
        self.status = "loading"  # loading | ready | failed
        self.error: str | None = None
        self.ready = threading.Event()  # set once loading has finished, either way
        self._qa: QA | None = None
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="rag-load", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            qa = self._load_qa()
            catalog = Catalog(qa.documents, qa.chunks)
        except Exception as exc:  # noqa: BLE001 - reported on /healthz, /readyz and in the log
            log.exception("loading index %r failed", self.index_name)
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"
        else:
            self._qa, self._catalog = qa, catalog
            self.status = "ready"
            log.info("index %r ready: %d documents, %d chunks in %.1fs", self.index_name,
                     len(catalog.doc_ids), catalog.chunk_count(), time.perf_counter() - started)
        finally:
            self.ready.set()

    def _require(self) -> tuple[QA, Catalog]:
        if self._qa is None or self._catalog is None:
            if self.status == "failed":
                raise ApiError(503, "not_ready", f"the index failed to load: {self.error}")
            raise ApiError(503, "not_ready", "the index is still loading; retry when /healthz answers 200",
                           headers={"Retry-After": "5"})
        return self._qa, self._catalog

    @property
    def catalog(self) -> Catalog:
        return self._require()[1]

    def readiness(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "index": self.index_name}
        if self._qa is None or self._catalog is None:
            return out | ({"error": {"type": "not_ready", "message": self.error or "the index is loading"}})
        info = dict(self._qa.info)
        return out | {
            "model": info.get("model") or info.get("model_id"),
            "chunks": self._catalog.chunk_count(),
            "documents": [{"id": d["id"], "symbol": d["symbol"], "chunk_count": d["chunk_count"]}
                          for d in self._catalog.documents()],
            "info": info,
        }

    def filters(self, body: FiltersIn | None, field: str = "body.filters") -> Filters | None:
        """The request's filters as the library's record (None when there is no restriction).
        Unknown document ids, symbols or types would silently match nothing: 422 instead."""
        if body is None:
            return None
        filters = body.to_filters()
        catalog = self._require()[1]
        for name, values, known in ((f"{field}.doc_ids", filters.doc_ids, catalog.doc_ids),
                                    (f"{field}.symbols", filters.symbols, catalog.symbols),
                                    (f"{field}.doc_types", filters.doc_types, catalog.doc_types)):
            unknown = [v for v in values if squash(v) not in {squash(k) for k in known}]
            if unknown:
                raise ApiError(422, "validation_error",
                               f"{name}: unknown {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
        return None if filters.is_empty() else filters

    def search(self, query: str, top_k: int, filters: Filters | None) -> SearchResult:
        qa = self._require()[0]
        with self._lock, library_errors():
            return qa.search(query, top_k=top_k, filters=filters)

    def ask(self, question: str, top_k: int, filters: Filters | None, mode: str) -> tuple[Answer, dict[str, float]]:
        qa = self._require()[0]
        t0 = time.perf_counter()
        with self._lock:
            t1 = time.perf_counter()
            with library_errors():
                answer = qa.ask(question, top_k=top_k, filters=filters, mode=mode)
        t2 = time.perf_counter()
        timings = {"queued": (t1 - t0) * 1000, "answer": (t2 - t1) * 1000}
        return answer, {k: round(v, 1) for k, v in timings.items()}
