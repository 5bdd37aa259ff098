"""Shared pytest fixtures. Each helper keeps its fixtures under its own header."""

from __future__ import annotations

# --- answer composition (tests/test_answer.py, tests/test_llm.py) -----------------------------

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult

from rag.lexical import Tokenizer
from rag.records import Chunk, Passage, SpeakerInfo

ANSWER_TERMS = ["社交媒体公司", "维和人员", "简易爆炸装置", "特派团", "肯尼亚", "中国"]


@pytest.fixture(scope="session")
def answer_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    """The project tokenizer with a tiny user dictionary (no dependence on rag/data tables)."""
    terms = tmp_path_factory.mktemp("terms") / "terms.txt"
    terms.write_text("\n".join(ANSWER_TERMS) + "\n", encoding="utf-8")
    return Tokenizer(terms_file=terms, tables=())


def make_passage(text: str, *, rank: int = 1, symbol: str | None = "S/PV.8838", speaker: str | None = None,
                 affiliation: str | None = None, name: str | None = None, doc_type: str = "meeting_record",
                 title: str = "安全理事会第8838次会议", capacity: str | None = None,
                 role: str | None = "member") -> Passage:
    """A Passage built directly from a Chunk, for unit tests."""
    info = SpeakerInfo(name=name, affiliation=affiliation, role=role, language=None,
                       capacity=capacity) if (speaker or affiliation) else None
    chunk = Chunk(id=f"c{rank}", doc_id=symbol or "doc-without-symbol", symbol=symbol, doc_type=doc_type,
                  speaker=speaker, speaker_info=info, turn=rank, paragraph=str(rank), start=0,
                  end=len(text), text=text)
    return Passage(chunk=chunk, score=1.0 / rank, rank=rank, title=title, date="2021-08-18",
                   url=f"https://undocs.org/zh/{symbol}" if symbol else None)


@pytest.fixture
def passage() -> Any:
    """Factory: passage(text, rank=..., symbol=..., speaker=..., affiliation=..., ...)."""
    return make_passage


class RaisingChatModel(BaseChatModel):
    """A chat model whose endpoint is unreachable: every call raises ConnectionError."""

    @property
    def _llm_type(self) -> str:
        return "raising-fake"

    def _generate(self, messages: Sequence[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        raise ConnectionError("LLM endpoint unreachable")


@pytest.fixture
def prompts_dir() -> Path:
    """The project's real prompt templates."""
    return Path(__file__).resolve().parents[1] / "rag" / "data" / "prompts"


# --- the real model on the real corpus (integration tests, the service e2e, the browser) -------
# One index is built per test session, in a temporary RAG_INDEX_DIR, with the bundled model that
# `make test` prepares (`rag model`). Everything that needs the real pipeline shares it.

import sys  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RAG_INDEX_DIR holding index `default`, built from corpus/ with the bundled model."""
    from rag import index as index_mod
    from rag.embed import encoder_for
    base = tmp_path_factory.mktemp("indexes")
    index_mod.build(REPO_ROOT / "corpus", base / "default", encoder_for(None))
    return base


@pytest.fixture(scope="session")
def real_pipeline(real_index_dir: Path) -> Any:
    from rag.pipeline import Pipeline
    return Pipeline.load(real_index_dir / "default")


@pytest.fixture(scope="session")
def real_server_url(real_index_dir: Path) -> Any:
    """`rag serve` in a subprocess on a free loopback port, over the session's real index."""
    from live_server import running_server
    command = [sys.executable, "-m", "rag.cli", "serve", "--port", "{port}"]
    with running_server(command, env={"RAG_INDEX_DIR": str(real_index_dir), "RAG_API_KEY": ""},
                        timeout=300) as url:
        yield url
