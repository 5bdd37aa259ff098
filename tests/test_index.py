"""The index's guarantees on a small slice of the real corpus, with a small fake encoder (no model):
incremental builds with stable ids, the build lock and the atomic versioned swap, and one-line
errors for every kind of damage (issue 10's table, adapted to the SQLite/FAISS layout)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from rag import buildlock
from rag import index as index_mod
from rag.sentences import ENGLISH_SENTENCES
from rag.store import sentence_key
from rag.unheld import mentioning
from rag.build import build
from rag.config import Settings
from rag.errors import IndexBusyError, IndexCorruptError, IndexLoadError
from rag.vectors import Allowed

REPO = Path(__file__).resolve().parents[1]
# Small documents, three of them with an official English translation.
SLICE = ("S/PRST/2021/11", "NV-2023-04-26-Ukraine-UNHCR-ExCom", "LTR-2023-02-07-SaintKittsNevis-Haiti",
         "E/RES/2023/18")


class HashEncoder:
    """Deterministic bag-of-characters vectors: enough to exercise FAISS, not to rank well.
    Counts the texts it embeds."""
    model_id = "hash-encoder"
    weights_hash = "h" * 64
    dimension = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def encode_passages(self, texts, progress=False):
        self.embedded.extend(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                out[i, ord(ch) % self.dimension] += 1.0
        return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)

    def encode_queries(self, texts):
        return self.encode_passages(texts)


def copy_corpus(target: Path, ids=SLICE) -> Path:
    """A corpus directory holding these documents of the real corpus (with their translations)."""
    manifest = json.loads((REPO / "corpus" / "manifest.json").read_text("utf-8"))
    docs = [d for d in manifest["documents"] if d["id"] in ids]
    target.mkdir(parents=True)
    for d in docs:
        for name in [d["file"], *(d.get("translations") or {}).values()]:
            shutil.copy(REPO / "corpus" / name, target / name)
    (target / "manifest.json").write_text(json.dumps({"documents": docs}, ensure_ascii=False), "utf-8")
    return target


def add_document(corpus: Path, doc_id: str) -> None:
    manifest = json.loads((REPO / "corpus" / "manifest.json").read_text("utf-8"))
    entry = next(d for d in manifest["documents"] if d["id"] == doc_id)
    shutil.copy(REPO / "corpus" / entry["file"], corpus / entry["file"])
    mine = json.loads((corpus / "manifest.json").read_text("utf-8"))
    mine["documents"].append(entry)
    (corpus / "manifest.json").write_text(json.dumps(mine, ensure_ascii=False), "utf-8")


def remove_document(corpus: Path, doc_id: str) -> None:
    mine = json.loads((corpus / "manifest.json").read_text("utf-8"))
    entry = next(d for d in mine["documents"] if d["id"] == doc_id)
    mine["documents"].remove(entry)
    for name in [entry["file"], *(entry.get("translations") or {}).values()]:
        (corpus / name).unlink()
    (corpus / "manifest.json").write_text(json.dumps(mine, ensure_ascii=False), "utf-8")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return copy_corpus(tmp_path / "corpus")


@pytest.fixture
def built(corpus: Path, tmp_path: Path) -> Path:
    return build(corpus, tmp_path / "idx" / "default", HashEncoder())[0]


def ids_by_chunk(path: Path) -> dict[str, int]:
    index = index_mod.load(path)
    try:
        order = np.asarray(index.columns.order)
        return {c.id: int(i) for c, i in zip(index.get_chunks(order), order)}
    finally:
        index.close()


# ------------------------------------------------------------------ building and loading

def test_build_records_what_it_wrote_and_skips_when_nothing_changed(corpus: Path, tmp_path: Path) -> None:
    path, built_now = build(corpus, tmp_path / "idx" / "default", HashEncoder())
    assert built_now and path.is_symlink()
    config = index_mod.read_config(path)
    for key in ("model_id", "model_hash", "dimension", "chunker_version", "chunks_hash", "tokenizer",
                "tokenizer_en", "corpus_hash", "created", "versions", "faiss_factory", "factories",
                "counts", "artifacts", "changes"):
        assert key in config, key
    assert config["changes"]["added"] == list(SLICE)
    assert {"store.sqlite", "dense.faiss", "sentences.faiss", "dense_en.faiss", "null.npz"} <= set(config["artifacts"])
    for entry in config["artifacts"].values():
        assert entry["size"] >= 0 and len(entry["sha256"]) == 64
    encoder = HashEncoder()
    assert not build(corpus, path, encoder)[1]
    assert encoder.embedded == []
    index = index_mod.load(path, HashEncoder())
    assert len(index.chunks) == config["n_chunks"] == index.dense.ntotal == len(index.bm25)
    assert index.dense_en is not None and index.bm25_en is not None
    assert index.dense_en.ntotal == config["counts"]["english"] > 0
    # one English BM25 row per sentence of each translation (ids chunk id * 16 + j)
    assert index.bm25_en_sentence is not None
    assert len(index.bm25_en_sentence) == config["counts"]["bm25_en_sentence"] > config["counts"]["english"]
    owners = set((index.bm25_en_sentence.ids // 16).tolist())
    assert owners == set(np.flatnonzero(np.asarray(index.columns.en)).tolist())


def test_the_index_answers_without_iterating_the_chunks(built: Path) -> None:
    index = index_mod.load(built)
    chunks = index.chunks_of("S/PRST/2021/11")
    assert chunks and all(c.doc_id == "S/PRST/2021/11" for c in chunks)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert index.chunk_counts()["S/PRST/2021/11"] == len(chunks)
    assert "安全理事会主席（代表安理会）" in index.speakers_of("S/PRST/2021/11")
    source = index.source_text("S/PRST/2021/11")
    assert all("".join(source[c.start:c.end].split()) == "".join(c.text.split()) for c in chunks)
    assert mentioning(index, ["S/2020/273"]) == ["S/PRST/2021/11"]
    assert index.chunks_of("no-such-document") == []
    assert list(index.chunks)[: len(chunks)] == chunks  # reading order: the manifest's first document


def test_a_filter_is_applied_inside_the_vector_search(built: Path) -> None:
    index = index_mod.load(built)
    doc_rows = {d.id: row for row, d in index.document_rows()}
    mask = np.asarray(index.columns.doc) == doc_rows["E/RES/2023/18"]
    allowed = Allowed.of(mask & np.asarray(index.columns.live))
    q = HashEncoder().encode_queries(["经济及社会理事会"])
    ids, scores = index.dense.search(q, 50, allowed)
    assert len(ids) == allowed.count and all(mask[i] for i in ids)
    assert list(scores) == sorted(scores, reverse=True)


def test_adding_a_document_embeds_only_its_chunks_and_keeps_every_id(corpus: Path, built: Path) -> None:
    before = ids_by_chunk(built)
    add_document(corpus, "S/2021/681")
    encoder = HashEncoder()
    assert build(corpus, built, encoder)[1]
    after = ids_by_chunk(built)
    new = index_mod.load(built).chunks_of("S/2021/681")
    assert {c.id for c in new} == set(after) - set(before)
    assert all(after[cid] == before[cid] for cid in before)  # stable FAISS ids
    expected = {c.text for c in new} | {s.strip() for c in new for s in _sentences(c.text)}
    assert set(encoder.embedded) == expected
    config = index_mod.read_config(built)
    assert config["changes"]["added"] == ["S/2021/681"] and config["incremental"]


def test_changing_and_removing_documents_removes_their_ids(corpus: Path, built: Path) -> None:
    before = ids_by_chunk(built)
    old_prst = {c.id for c in index_mod.load(built).chunks_of("S/PRST/2021/11")}
    text = corpus / next(d["file"] for d in json.loads((corpus / "manifest.json").read_text("utf-8"))["documents"]
                         if d["id"] == "S/PRST/2021/11")
    text.write_text(text.read_text("utf-8") + "\n安全理事会决定继续积极处理此案。\n", "utf-8")
    remove_document(corpus, "E/RES/2023/18")
    encoder = HashEncoder()
    build(corpus, built, encoder)
    config = index_mod.read_config(built)
    assert (config["changes"]["changed"], config["changes"]["removed"]) == (["S/PRST/2021/11"], ["E/RES/2023/18"])
    index = index_mod.load(built)
    after = ids_by_chunk(built)
    assert index.chunks_of("E/RES/2023/18") == [] and "E/RES/2023/18" not in index.chunk_counts()
    for doc in ("NV-2023-04-26-Ukraine-UNHCR-ExCom", "LTR-2023-02-07-SaintKittsNevis-Haiti"):
        for c in index.chunks_of(doc):
            assert after[c.id] == before[c.id]
    assert "安全理事会决定继续积极处理此案。" in encoder.embedded
    assert len(encoder.embedded) < 10  # the unchanged chunks of the changed document come from the cache
    gone = {before[cid] for cid in set(before) - set(after)}
    assert gone and not gone & set(int(i) for i in index.dense.all_ids())
    english_owners = set((index.sentences_en.all_ids() // ENGLISH_SENTENCES).tolist())
    assert not gone & english_owners  # the English sentences left with their chunks
    assert english_owners == set(int(i) for i in index.dense_en.all_ids())  # every translated chunk has some
    assert index.store.count("sentences_en") == index.sentences_en.ntotal  # their keys left with them too
    assert index.dense.ntotal == len(index.chunks) == config["n_chunks"]
    changed = index.chunks_of("S/PRST/2021/11")  # a changed document is re-added under new ids
    assert len(changed) >= len(old_prst) and all(after[c.id] > max(before.values()) for c in changed)


def test_force_rebuilds_from_the_embedding_cache(corpus: Path, built: Path) -> None:
    encoder = HashEncoder()
    assert build(corpus, built, encoder, force=True)[1]
    assert encoder.embedded == []
    assert not index_mod.read_config(built)["incremental"]


def test_a_factory_string_builds_an_ivf_index_searched_beyond_nprobe_under_filters(corpus, tmp_path) -> None:
    path, _ = build(corpus, tmp_path / "idx" / "default", HashEncoder(), factory="IVF4,Flat")
    assert not build(corpus, path, HashEncoder())[1]  # a later build keeps the type
    index = index_mod.load(path, nprobe=1)
    assert index.config["factories"]["dense"] == "IVF4,Flat"
    q = HashEncoder().encode_queries(["维和人员的安全"])
    some = np.zeros(len(index.columns.live), dtype=bool)
    some[np.asarray(index.columns.order)[:3]] = True
    ids, _ = index.dense.search(q, 10, Allowed.of(some), live=index.live_count)
    assert sorted(ids) == sorted(np.flatnonzero(some))  # a narrow filter visits every list
    all_ids, _ = index.dense.search(q, index.dense.ntotal, exhaustive=True)
    assert len(all_ids) == index.dense.ntotal


def test_an_index_of_half_precision_codes_is_converted_to_8_bit_by_the_next_build(corpus, tmp_path, monkeypatch) -> None:
    """Indexes built by auto before SQ8 hold SQfp16; the next build re-encodes every list, and
    each old row keeps its id and (within 8-bit precision) its vector."""
    from rag import vectors as vec

    kinds = ("dense", "sentences", "dense_en", "sentences_en")
    monkeypatch.setattr(vec, "auto_factory", lambda n: "IVF4,SQfp16")
    path, _ = build(corpus, tmp_path / "idx" / "default", HashEncoder())
    assert set(index_mod.read_config(path)["factories"].values()) == {"IVF4,SQfp16"}
    before = index_mod.load(path)
    old = {kind: (ids := getattr(before, kind).all_ids(), getattr(before, kind).vectors(ids)) for kind in kinds}
    before.close()
    monkeypatch.setattr(vec, "auto_factory", lambda n: "IVF4,SQ8")
    add_document(corpus, "S/PV.8838")
    assert build(corpus, path, HashEncoder())[1]
    assert set(index_mod.read_config(path)["factories"].values()) == {"IVF4,SQ8"}
    after = index_mod.load(path, nprobe=4)
    for kind, (ids, vectors) in old.items():
        view = getattr(after, kind)
        assert view.ntotal > len(ids) or kind.endswith("_en")  # S/PV.8838's rows came in (it has no English)
        kept = view.vectors(ids)  # KeyError-free: every old id is still there
        cosines = np.sum(kept * vectors, axis=1)  # each row to itself (two different texts: 0.2-0.4)
        assert cosines.min() > 0.98 and cosines.mean() > 0.998, kind
    after.close()


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="rag index"):
        index_mod.load(tmp_path / "nothing")


def test_an_index_of_the_old_format_asks_for_a_rebuild(tmp_path: Path) -> None:
    old = tmp_path / "idx" / "default"
    old.mkdir(parents=True)
    (old / "config.json").write_text(json.dumps({"format_version": 1, "chunker_version": "x"}), "utf-8")
    with pytest.raises(IndexLoadError, match="rebuild it with `rag index`"):
        index_mod.load(old)


def test_a_new_build_replaces_an_old_format_directory(corpus: Path, tmp_path: Path) -> None:
    old = tmp_path / "idx" / "default"
    old.mkdir(parents=True)
    (old / "config.json").write_text(json.dumps({"format_version": 1}), "utf-8")
    build(corpus, old, HashEncoder())
    assert old.is_symlink() and index_mod.load(old).chunks
    assert len(buildlock.versions(old)) == 1


# ------------------------------------------------------------------ build safety

def test_a_failed_build_leaves_the_previous_index_and_no_debris(corpus, built, monkeypatch) -> None:
    before = index_mod.read_config(built)
    add_document(corpus, "S/2021/681")
    import rag.build as build_mod

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(build_mod, "_lexical", fail)
    with pytest.raises(OSError, match="disk full"):
        build(corpus, built, HashEncoder())
    assert index_mod.read_config(built) == before
    assert index_mod.load(built).chunks
    assert not list(built.parent.glob(".default.building-*"))


def test_stale_build_directories_are_cleaned_by_the_next_build(corpus, built) -> None:
    stale = built.parent / ".default.building-20200101T000000-dead"
    (stale / "columns").mkdir(parents=True)
    build(corpus, built, HashEncoder(), force=True)
    assert not stale.exists()


def test_a_second_writer_waits_then_fails_with_index_busy(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "idx" / "default"
    messages: list[str] = []
    with buildlock.BuildLock(path):
        with pytest.raises(IndexBusyError, match="being built by another process"):
            build(corpus, path, HashEncoder(), settings=Settings(build_wait=0.3), notify=messages.append)
    assert messages and "waiting for another build" in messages[0]
    assert build(corpus, path, HashEncoder(), settings=Settings(build_wait=0))[1]


def test_an_old_version_is_kept_while_a_reader_holds_it(corpus: Path, built: Path) -> None:
    reader = index_mod.load(built)
    first = reader.path
    build(corpus, built, HashEncoder(), force=True)
    assert first.exists() and built.resolve() != first
    assert reader.chunks_of("S/PRST/2021/11")  # still readable
    reader.close()
    build(corpus, built, HashEncoder(), force=True)
    assert not first.exists()
    assert len(buildlock.versions(built)) == 1


def test_a_reader_polling_during_swaps_always_sees_an_index(corpus: Path, built: Path) -> None:
    seen_none = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            if buildlock.current_version(built) is None:
                seen_none.append(1)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        for _ in range(3):
            build(corpus, built, HashEncoder(), force=True)
    finally:
        stop.set()
        thread.join()
    assert seen_none == []


# ------------------------------------------------------------------ damage: one line, naming the file

def _one_line(excinfo: pytest.ExceptionInfo, file: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and file in message and "rag index" in message, message
    return message


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path / "store.sqlite")
    for s in statements:
        db.execute(s)
    db.commit()
    db.close()


@pytest.mark.parametrize("damage, file", [
    ("DELETE FROM chunks", "store.sqlite"),  # chunks emptied
    ("DELETE FROM chunks WHERE id = (SELECT max(id) FROM chunks)", "store.sqlite"),  # a dropped chunk row
    ("DELETE FROM documents WHERE row = (SELECT max(row) FROM documents)", "store.sqlite"),  # a missing document
])
def test_missing_rows_are_a_one_line_error(built: Path, damage: str, file: str) -> None:
    version = built.resolve()
    _sql(version, damage)
    with pytest.raises(IndexCorruptError) as e:
        index_mod.load(built)
    _one_line(e, file)


def test_two_chunk_rows_swapped_are_caught(built: Path) -> None:
    version = built.resolve()
    db = sqlite3.connect(version / "store.sqlite")
    (a, ra), (b, rb) = db.execute("SELECT id, record FROM chunks ORDER BY id LIMIT 2").fetchall()
    db.execute("UPDATE chunks SET record = ? WHERE id = ?", (rb, a))
    db.execute("UPDATE chunks SET record = ? WHERE id = ?", (ra, b))
    db.commit()
    db.close()
    with pytest.raises(IndexCorruptError) as e:  # the file's checksum, at load
        index_mod.load(built)
    _one_line(e, "store.sqlite")
    config = json.loads((version / "config.json").read_text("utf-8"))
    config["artifacts"].pop("store.sqlite")  # even unchecked, a read of the row fails on its seal
    (version / "config.json").write_text(json.dumps(config), "utf-8")
    index = index_mod.load(built)
    with pytest.raises(IndexCorruptError) as e:
        index.get_chunks([a])
    _one_line(e, "store.sqlite")


def test_sentences_shifted_are_caught(built: Path) -> None:
    path = built.resolve() / "columns" / "sent_chunk.npy"
    owners = np.load(path)
    np.save(path, np.roll(owners, 1))
    with pytest.raises(IndexCorruptError) as e:
        index_mod.load(built)
    _one_line(e, "sent_chunk.npy")


def test_random_bytes_in_a_faiss_file_are_caught(built: Path) -> None:
    path = built.resolve() / "dense.faiss"
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = np.random.default_rng(0).bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError) as e:
        index_mod.load(built)
    _one_line(e, "dense.faiss")
    with pytest.raises(IndexCorruptError):
        index_mod.check(built)


def test_a_truncated_faiss_file_is_caught(built: Path) -> None:
    path = built.resolve() / "sentences.faiss"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(IndexCorruptError) as e:
        index_mod.load(built)
    _one_line(e, "sentences.faiss")


def test_a_faiss_read_error_is_one_line_even_when_sizes_match(built: Path) -> None:
    """Damage the build's record could not see (the checksums rewritten): FAISS's own multi-line
    C++ error becomes one line naming the file."""
    version = built.resolve()
    path = version / "dense.faiss"
    path.write_bytes(b"\0" * path.stat().st_size)
    config = json.loads((version / "config.json").read_text("utf-8"))
    config["artifacts"] = index_mod.artifacts(version)
    (version / "config.json").write_text(json.dumps(config), "utf-8")
    with pytest.raises(IndexCorruptError) as e:
        index_mod.load(built)
    _one_line(e, "dense.faiss")


@pytest.mark.parametrize("damage", ["garbage", "no_counts", "missing_file"])
def test_config_and_missing_files_are_one_line_errors(built: Path, damage: str) -> None:
    version = built.resolve()
    config_path = version / "config.json"
    if damage == "garbage":
        config_path.write_text("{not json", "utf-8")
        file = "config.json"
    elif damage == "no_counts":
        config = json.loads(config_path.read_text("utf-8"))
        del config["counts"]
        config_path.write_text(json.dumps(config), "utf-8")
        file = "config.json"
    else:
        (version / "bm25" / "vocab.index.json").unlink()
        file = "vocab.index.json"
    with pytest.raises(IndexLoadError) as e:
        index_mod.load(built)
    _one_line(e, file)


def test_check_verifies_every_checksum_and_row(built: Path) -> None:
    summary = index_mod.check(built)
    assert summary["ok"] and summary["chunks"] == index_mod.read_config(built)["n_chunks"]


def test_the_model_is_checked_at_load(built: Path) -> None:
    class Other(HashEncoder):
        model_id = "other"
        weights_hash = "0" * 64

    with pytest.raises(IndexLoadError, match="other"):
        index_mod.load(built, Other())


def _sentences(text: str) -> list[str]:
    from rag.sentences import split_sentences
    return split_sentences(text)


@pytest.mark.parametrize("factory", ["IVF16,SQ8", "IVF16,SQfp16"])
def test_a_memory_mapped_ivf_reads_without_prefetch_threads_and_finds_its_rows(tmp_path: Path, factory: str) -> None:
    """OnDiskInvertedLists starts 32 prefetch threads per search unless told not to (bench/scale.py).
    SQ8 is what auto_factory builds; SQfp16 what indexes built before it hold."""
    import faiss

    from rag import vectors as vec

    rng = np.random.default_rng(0)
    data = rng.standard_normal((2000, 16)).astype(np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    index = vec.new_index(16, factory, data)
    vec.add(index, np.arange(1, 2001, dtype=np.int64), data)
    vec.write(index, tmp_path / "v.faiss")
    loaded = vec.read(tmp_path / "v.faiss", factory)
    lists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(loaded).invlists)
    assert lists.prefetch_nthread == 0
    faiss.extract_index_ivf(loaded).nprobe = 16
    _, ids = loaded.search(data[:5], 1)
    assert ids[:, 0].tolist() == [1, 2, 3, 4, 5]


def test_the_index_type_grows_with_the_corpus_from_exact_to_8_bit_ivf() -> None:
    from rag import vectors as vec

    assert vec.auto_factory(vec.FLAT_MAX) == "Flat"
    assert vec.auto_factory(200_000) == "IVF1024,SQ8"  # nlist ~ 2·sqrt(n), a power of two
    assert vec.auto_factory(2_000_000) == "IVF2048,SQ8"  # 2·1414 = 2828 -> 2^11


@pytest.mark.parametrize("factory", ["SQ8", "IVF4,SQ8"])
def test_8_bit_codes_keep_a_later_vector_beyond_the_trained_range(factory: str) -> None:
    """The 8-bit range is learnt once; a build that adds vectors does not train again."""
    from rag import vectors as vec

    rng = np.random.default_rng(0)
    sample = rng.uniform(-0.1, 0.1, (400, 8)).astype(np.float32)
    index = vec.new_index(8, factory, sample)
    later = np.full((1, 8), 0.115, dtype=np.float32)  # beyond the sample's range, within the margin
    vec.add(index, np.array([7], dtype=np.int64), later)
    assert np.allclose(vec.VectorIndex(index, Path("x")).vectors(np.array([7])), later, atol=0.01)


def test_dot_is_the_matrix_vector_product() -> None:
    from rag import vectors as vec

    rng = np.random.default_rng(1)
    m, q = rng.standard_normal((300, 32)).astype(np.float32), rng.standard_normal(32).astype(np.float32)
    assert np.allclose(vec.dot(m, q), m @ q, atol=1e-5)


def test_an_english_sentence_is_found_by_its_text(built: Path) -> None:
    from rag.sentences import split_english
    index = index_mod.load(built)
    chunk = next(c for c in index.chunks if c.text_en)
    first = split_english(chunk.text_en)[0]
    found = index.sentence_vectors([first, "not a sentence of this corpus"])
    assert list(found) == [first]
    (sid,) = index.store.sentence_ids([sentence_key(first)], "sentences_en").values()
    assert np.allclose(found[first], index.sentences_en.vectors([sid])[0])


def test_an_index_without_translations_has_no_english_lists_and_answers_english(tmp_path: Path) -> None:
    from rag.retrieve import Retriever
    corpus = copy_corpus(tmp_path / "corpus", ("S/PRST/2021/11",))
    path, _ = build(corpus, tmp_path / "idx" / "default", HashEncoder())
    index = index_mod.load(path, HashEncoder())
    try:
        assert index.bm25_en is None and index.bm25_en_sentence is None and index.dense_en is None
        assert index_mod.read_config(path)["counts"]["bm25_en_sentence"] == 0
        result = Retriever(index, HashEncoder()).search("What did the Council say about vaccines?", 3)
        assert result.passages and set(result.diagnostics["lists"]) >= {"dense", "sentence"}
        assert not set(result.diagnostics["lists"]) & {"dense_en", "bm25_en", "bm25_en_sentence"}
    finally:
        index.close()
