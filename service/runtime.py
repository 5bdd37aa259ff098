"""The one QA object of the process: loaded in a background thread, then shared by all requests.

Requests share it without a lock: the pipeline's state is read-only once loaded (its caches are
filled at load by `warm_up`, or are thread-safe). The CPU-bound calls (search, ask, verify, the
follow-up resolution) run in worker threads through `Runtime.run`, at most
`Settings.concurrent_queries` at once per process (verifications in a lane of their own, one at a
time), so a burst of questions queues there while the event loop (health checks, cheap reads)
stays free. `start_reload()` loads again in the background
and swaps the new QA in when it is ready; the old one serves until then, and a failed reload
keeps it (reported in /readyz).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio

from rag.catalog import Catalog
from rag.config import Settings
from rag.entities import Gazetteer, load_entities
from rag.errors import RagError
from rag.protocols import QA
from rag.records import Answer, Filters, SearchResult
from rag.verify import Verifier
from service.errors import ApiError, library_errors
from service.schemas import FiltersIn

log = logging.getLogger("service")
T = TypeVar("T")
VERIFY_SLOTS = 1  # verifications computed at once per process (Runtime.run, lane "verify")


@dataclass(frozen=True)
class Loaded:
    """Everything built from one load, swapped in as a whole."""

    qa: QA
    catalog: Catalog
    verifier: Verifier
    gazetteer: Gazetteer
    speakers: tuple[Any, ...]  # the corpus speakers (SpeakerInfo), for follow-up resolution
    loaded_at: float


class Runtime:
    def __init__(self, load_qa: Callable[[], QA], index_name: str, settings: Settings | None = None,
                 corpus_dir: Path | None = None):
        self._load_qa = load_qa
        self.index_name = index_name
        self.settings = settings or Settings()
        self.corpus_dir = corpus_dir
        self.status = "loading"  # loading | ready | failed
        self.error: str | None = None
        self.ready = threading.Event()  # set once the first load has finished, either way
        self._loaded: Loaded | None = None
        self._thread: threading.Thread | None = None
        self._reload: dict[str, Any] = {"status": "idle"}
        self._reload_lock = threading.Lock()
        self._limiters: dict[str, anyio.CapacityLimiter] = {}

    # ---------------------------------------------------------------- loading

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._first_load, name="rag-load", daemon=True)
            self._thread.start()

    def _build(self) -> Loaded:
        qa = self._load_qa()
        catalog = Catalog(qa, self.corpus_dir)
        gazetteer = load_entities()
        return Loaded(qa, catalog, Verifier(catalog, gazetteer), gazetteer, catalog.speaker_infos, time.time())

    def _first_load(self) -> None:
        started = time.perf_counter()
        try:
            loaded = self._build()
        except RagError as exc:  # a corrupt, stale or missing index: its one line, no traceback
            log.error("loading index %r failed: %s", self.index_name, exc)
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"
        except Exception as exc:  # noqa: BLE001 - a bug: reported on /healthz, /readyz and in the log
            log.exception("loading index %r failed", self.index_name)
            self.error = f"{type(exc).__name__}: {exc}"
            self.status = "failed"
        else:
            self._loaded = loaded
            self.status = "ready"
            log.info("index %r ready: %d documents, %d chunks in %.1fs", self.index_name,
                     len(loaded.catalog.doc_ids), loaded.catalog.chunk_count(), time.perf_counter() - started)
        finally:
            self.ready.set()

    def start_reload(self) -> dict[str, Any]:
        """Load again in the background (e.g. after a document was added); the current QA serves
        until the new one is ready. {"status": "started"} or {"status": "already_running"}."""
        with self._reload_lock:
            if self._reload["status"] == "running":
                return {"status": "already_running"}
            self._reload = {"status": "running", "started_at": time.time()}
        threading.Thread(target=self._reload_now, name="rag-reload", daemon=True).start()
        return {"status": "started"}

    def _reload_now(self) -> None:
        try:
            loaded = self._build()
        except Exception as exc:  # noqa: BLE001 - the old index keeps serving; /readyz says why
            if isinstance(exc, RagError):
                log.error("reloading index %r failed; the previous one keeps serving: %s", self.index_name, exc)
            else:
                log.exception("reloading index %r failed; the previous one keeps serving", self.index_name)
            state = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        else:
            self._loaded = loaded  # one assignment: a request sees the old or the new, never half
            self.status, self.error = "ready", None
            state = {"status": "done"}
        with self._reload_lock:
            self._reload = self._reload | state | {"finished_at": time.time()}

    @property
    def reload_state(self) -> dict[str, Any]:
        return dict(self._reload)

    def _require(self) -> Loaded:
        loaded = self._loaded
        if loaded is None:
            if self.status == "failed":
                raise ApiError(503, "not_ready", f"the index failed to load: {self.error}")
            raise ApiError(503, "not_ready", "the index is still loading; retry when /healthz answers 200",
                           headers={"Retry-After": "5"})
        return loaded

    @property
    def loaded(self) -> Loaded:
        return self._require()

    @property
    def catalog(self) -> Catalog:
        return self._require().catalog

    def readiness(self, details: bool) -> dict[str, Any]:
        """/readyz: status, and with `details` (no key configured, or the right key given) the
        index name, model, chunk and document counts, the reload state and the index's config."""
        out: dict[str, Any] = {"status": self.status}
        loaded = self._loaded
        if not details:
            return out
        out |= {"index": self.index_name, "reload": self.reload_state}
        if loaded is None:
            return out
        info = dict(loaded.qa.info)
        return out | {
            "model": info.get("model") or info.get("model_id"),
            "chunks": loaded.catalog.chunk_count(),
            "documents": [{"id": d["id"], "symbol": d["symbol"], "chunk_count": d["chunk_count"]}
                          for d in loaded.catalog.documents_summary()],
            "info": info,
        }

    # ---------------------------------------------------------------- requests

    async def run(self, fn: Callable[..., T], *args: Any, lane: str = "queries") -> tuple[T, float]:
        """`fn(*args)` in a worker thread; returns the result and the milliseconds spent waiting for
        a thread. Lane "queries": at most Settings.concurrent_queries at once. Lane "verify": one at
        a time, apart from the queries: a verification that finds nothing compares the quote with
        passages in pure Python (difflib, holding the GIL), so several at once would starve searches."""
        limiter = self._limiters.get(lane)
        if limiter is None:
            limiter = self._limiters[lane] = anyio.CapacityLimiter(
                self.settings.concurrent_queries if lane == "queries" else VERIFY_SLOTS)
        queued = time.perf_counter()
        started: list[float] = []

        def call() -> T:
            started.append(time.perf_counter())
            with library_errors():
                return fn(*args)

        result = await anyio.to_thread.run_sync(call, limiter=limiter)
        return result, round((started[0] - queued) * 1000, 1)

    def filters(self, body: FiltersIn | None, field: str = "body.filters") -> Filters | None:
        """The request's filters as the library's record (None when there is no restriction).
        Unknown document ids, symbols or types would silently match nothing: 422 instead."""
        if body is None:
            return None
        with library_errors():
            return self.catalog.check_filters(body.to_filters(), field)

    def search(self, query: str, top_k: int, filters: Filters | None) -> SearchResult:
        return self.loaded.qa.search(query, top_k=top_k, filters=filters)

    def ask(self, question: str, top_k: int, filters: Filters | None, mode: str) -> Answer:
        return self.loaded.qa.ask(question, top_k=top_k, filters=filters, mode=mode)

