"""Milvus as the serving store (rag.milvus_store), on milvus-lite in a temporary directory: the
same retrieval as FAISS on a small fake-encoder index, every filter honoured (as a Milvus
expression or a checked mask), BM25 as sparse vectors scoring exactly as bm25s, one-line errors;
and the same top-5 as FAISS on the real index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from rag import index as index_mod  # noqa: E402
from rag import milvus_export, milvus_store  # noqa: E402
from rag.build import build  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.errors import IndexLoadError  # noqa: E402
from rag.unheld import mentioning  # noqa: E402
from rag.filters import matches  # noqa: E402
from rag.milvus_store import MilvusLexical, MilvusVectors  # noqa: E402
from rag.records import Filters  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.vectors import Allowed  # noqa: E402
from test_index import HashEncoder, copy_corpus  # noqa: E402

SLICE = ("S/PV.8838", "S/PRST/2021/11", "NV-2023-04-26-Ukraine-UNHCR-ExCom", "E/RES/2023/18")
QUESTIONS = ("维和人员的安全", "简易爆炸装置", "人道主义援助", "安全理事会第8838次会议",
             "What did China say about technology?", "refugees in Ukraine", "乌克兰难民署")
FILTERS = [
    Filters(doc_ids=("S/PV.8838",)),
    Filters(symbols=("S/PRST/2021/11",)),
    Filters(speakers=("中国",)),
    Filters(speakers=("戴兵", "法国")),
    Filters(doc_types=("resolution", "note_verbale")),
    Filters(date_from="2023-01-01"),
    Filters(date_to="2021-06-01", doc_types=("presidential_statement",)),
]


def same_hits(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-5)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small index built with the Milvus store: the build exports milvus-lite collections."""
    base = tmp_path_factory.mktemp("milvus")
    corpus = copy_corpus(base / "corpus", SLICE)
    path, _ = build(corpus, base / "idx" / "default", HashEncoder(), settings=Settings(store="milvus"))
    return path


@pytest.fixture(scope="module")
def pair(built: Path):
    """(FAISS index, Milvus index) of the same version."""
    faiss_index = index_mod.load(built)
    milvus_index = index_mod.load(built, store="milvus")
    yield faiss_index, milvus_index
    milvus_index.close()
    faiss_index.close()


def test_the_build_exports_every_row_and_loading_swaps_the_searches(built: Path, pair) -> None:
    faiss_index, milvus_index = pair
    assert (milvus_index.path / "milvus.db").is_file()
    assert isinstance(milvus_index.dense, MilvusVectors) and isinstance(milvus_index.sentences, MilvusVectors)
    assert isinstance(milvus_index.dense_en, MilvusVectors) and isinstance(milvus_index.bm25, MilvusLexical)
    assert milvus_index.dense.ntotal == faiss_index.dense.ntotal
    assert milvus_index.sentences.ntotal == faiss_index.sentences.ntotal
    assert milvus_index.dense_en.ntotal == faiss_index.dense_en.ntotal > 0
    ids = np.asarray(faiss_index.columns.order)[::7]
    assert np.allclose(milvus_index.dense.vectors(ids), faiss_index.dense.vectors(ids), atol=1e-6)
    # the SQLite store, the columns and the null sample are the version's own
    assert milvus_index.get_chunks(ids[:3]) == faiss_index.get_chunks(ids[:3])


def test_retrieval_is_the_same_as_with_faiss(pair) -> None:
    faiss_index, milvus_index = pair
    a, b = Retriever(faiss_index, HashEncoder()), Retriever(milvus_index, HashEncoder())
    for q in QUESTIONS:
        x, y = a.search(q, 5), b.search(q, 5)
        assert x.passages, q
        assert [p.chunk.id for p in y.passages] == [p.chunk.id for p in x.passages], q
        assert y.diagnostics["dense_stats"] == x.diagnostics["dense_stats"], q
        assert y.diagnostics["lists"] == x.diagnostics["lists"], q
    for f in FILTERS:
        x, y = a.search("技术和安全", 5, f), b.search("技术和安全", 5, f)
        assert x.passages, f
        assert [p.chunk.id for p in y.passages] == [p.chunk.id for p in x.passages], f


@pytest.mark.parametrize("f", FILTERS)
def test_filters_are_honoured_and_match_faiss(pair, f: Filters) -> None:
    faiss_index, milvus_index = pair
    allowed = Allowed.of(faiss_index.body().mask & matches(faiss_index, f))
    q = HashEncoder().encode_queries(["维和人员的安全和技术"])
    for name in ("dense", "sentences"):
        mask = allowed if name == "dense" else faiss_index.sentence_filter(allowed)
        ids, scores = getattr(milvus_index, name).search(q, 50, mask)
        want_ids, want_scores = getattr(faiss_index, name).search(q, 50, mask)
        assert len(ids) and mask.mask[ids].all()
        assert ids.tolist() == want_ids.tolist() and np.allclose(scores, want_scores, atol=1e-5)
    hits = milvus_index.bm25.search("维和人员 安全 技术 决议 难民 联合国", 50, allowed=allowed.mask)
    same_hits(hits, faiss_index.bm25.search("维和人员 安全 技术 决议 难民 联合国", 50, allowed=allowed.mask))
    assert hits and all(allowed.mask[i] for i, _ in hits)


def test_a_mask_no_field_expresses_is_still_exact(pair, monkeypatch) -> None:
    """An arbitrary mask: sent as `id in [...]`, or (made too large for that) over-fetched and checked."""
    faiss_index, milvus_index = pair
    rng = np.random.default_rng(1)
    allowed = Allowed.of(np.asarray(faiss_index.columns.live) & (rng.random(len(faiss_index.columns.live)) < 0.2))
    q = HashEncoder().encode_queries(["安全理事会"])
    want = faiss_index.dense.search(q, 10, allowed)
    expr, check, _ = milvus_index.dense.scalars.plan(allowed.mask)
    assert expr.startswith("id in") and check is None
    assert milvus_index.dense.search(q, 10, allowed)[0].tolist() == want[0].tolist()
    monkeypatch.setattr(milvus_store, "ID_LIST_MAX", 0)
    allowed = Allowed.of(allowed.mask.copy())  # plans are memoized per mask object
    expr, check, _ = milvus_index.dense.scalars.plan(allowed.mask)
    assert check is not None
    ids, _ = milvus_index.dense.search(q, 10, allowed)
    assert ids.tolist() == want[0].tolist() and allowed.mask[ids].all()


@pytest.mark.parametrize("f", FILTERS)
def test_filters_as_milvus_expressions_on_doc_speaker_kind_and_date(pair, f: Filters) -> None:
    faiss_index, milvus_index = pair
    expr = milvus_store.filter_expression(faiss_index, f)
    conn = milvus_index.dense.conn
    rows = conn.client.query(milvus_index.dense.collection, filter=expr, output_fields=["id"], limit=16384)
    want = np.flatnonzero(faiss_index.body().mask & matches(faiss_index, f))
    assert sorted(r["id"] for r in rows) == want.tolist() and len(want)


def test_sparse_bm25_scores_equal_bm25s(pair) -> None:
    faiss_index, milvus_index = pair
    for q in ("维和人员的安全", "难民署 执行委员会", "S/PV.8838 技术", "安全理事会 主席 声明"):
        want = faiss_index.bm25.search(q, 100)
        assert want, q
        same_hits(milvus_index.bm25.search(q, 100), want)
    assert not milvus_index.bm25.search("火星", 10)
    tokens = ["peacekeeping", "维和"]
    same_hits(milvus_index.bm25.search_tokens(tokens, 20), faiss_index.bm25.search_tokens(tokens, 20))
    for symbol in ("S/2021/681", "S/RES/2589 (2021)"):  # named in S/PV.8838 (as 第2589(2021)号决议)
        assert mentioning(milvus_index, [symbol]) == mentioning(faiss_index, [symbol]) == ["S/PV.8838"]


def test_hybrid_search_in_milvus_itself(pair) -> None:
    """Dense and sparse in one collection: Milvus's own hybrid search (RRF) works on it."""
    from pymilvus import AnnSearchRequest, RRFRanker
    _, milvus_index = pair
    q = HashEncoder().encode_queries(["维和人员的安全"])[0].tolist()
    terms = milvus_index.bm25.local._bm.get_tokens_ids(milvus_index.tokenizer.tokenize("维和人员的安全"))
    requests = [AnnSearchRequest([q], "vector", {"metric_type": "IP"}, 20, expr='role == "body"'),
                AnnSearchRequest([{t: 1.0 for t in terms}], "sparse", {"metric_type": "IP"}, 20,
                                 expr='role == "body"')]
    hits = milvus_index.dense.conn.client.hybrid_search(milvus_index.dense.collection, requests,
                                                        RRFRanker(10), limit=5)[0]
    dense_top = milvus_index.dense.search(np.array(q), 1, milvus_index.body())[0][0]
    sparse_top = milvus_index.bm25.search("维和人员的安全", 1, milvus_index.body().mask)[0][0]
    assert len(hits) == 5 and {dense_top, sparse_top} & {h["id"] for h in hits}


def test_an_unchanged_build_keeps_the_export(built: Path) -> None:
    said: list[str] = []
    corpus = built.parent.parent / "corpus"
    assert not build(corpus, built, HashEncoder(), settings=Settings(store="milvus"), notify=said.append)[1]
    assert said == []  # the collections were complete: nothing written again


def test_missing_or_unreachable_milvus_is_one_line(tmp_path: Path, built: Path, monkeypatch) -> None:
    with pytest.raises(IndexLoadError, match=r"no Milvus collections at .*nothing\.db: export them with `rag index --store milvus`"):
        index_mod.load(built, store="milvus", milvus_uri=str(tmp_path / "nothing.db"))
    monkeypatch.setattr(milvus_store, "CONNECT_TIMEOUT", 0.5)
    with pytest.raises(IndexLoadError, match=r"Milvus at http://127\.0\.0\.1:9: unreachable") as e:
        index_mod.load(built, store="milvus", milvus_uri="http://127.0.0.1:9")
    assert "\n" not in str(e.value)
    empty = tmp_path / "empty.db"
    milvus_store.connect(str(empty), create=True).close()
    with pytest.raises(IndexLoadError, match="collection unrag_default_v_.*chunks is missing"):
        index_mod.load(built, store="milvus", milvus_uri=str(empty))


def test_settings_read_the_store() -> None:
    s = Settings.from_env({"RAG_STORE": "milvus", "RAG_MILVUS_URI": "http://milvus:19530"})
    assert s.store == "milvus" and s.milvus_uri == "http://milvus:19530"
    assert Settings().store == "faiss" and Settings().milvus_uri is None


@pytest.mark.integration
def test_the_real_index_gives_the_same_top5_with_milvus(real_index_dir: Path, tmp_path: Path) -> None:
    from rag.pipeline import Pipeline
    path = real_index_dir / "default"
    uri = str(tmp_path / "real.db")
    milvus_export.export(path, uri)
    faiss_p = Pipeline.load(path, settings=Settings())
    milvus_p = Pipeline.load(path, settings=Settings(store="milvus", milvus_uri=uri))
    try:
        for q in ("维和人员的安全和安保", "肯尼亚代表对社交媒体公司说了什么？", "中国代表关于维和技术的发言",
                  "What did Kenya say about social media companies?",
                  "What did the Secretary-General say about digital transformation?"):
            x, y = faiss_p.search(q, 5), milvus_p.search(q, 5)
            assert [p.chunk.id for p in y.passages] == [p.chunk.id for p in x.passages], q
            assert len(x.passages) == 5
    finally:
        milvus_p.index.close()
        faiss_p.index.close()
