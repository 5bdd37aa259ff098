"""The index at scale without hours of embedding: tile the real index to N passages with jittered
vectors, build it through the production code (rag.build.write_version), then, in a fresh
process, load it with the real model and time the real questions.

Run: .venv/bin/python bench/scale.py --passages 200000 [--json] [--rounds 3] [--sigma 0.01] [--work DIR] [--rebuild]
     [--codes SQfp16]

Tiling: copy k of every document gets the id `<id>#k` (no symbol: a symbol names one document),
its chunks and sentences keep their text, and each vector is the real one plus Gaussian noise
(sigma per dimension, then normalised; 0.01 keeps a copy at cosine ~0.98 of its original). The
tokens are the real ones, so BM25 sees K copies of the corpus's vocabulary.

Printed: build time, load time (index alone; index + model), peak RSS of the measuring process
(model included) after every question has been searched once, before the exhaustive reference
runs (its every-row lists are not what a service holds; the peak with them is printed too).
`rss_mb` is that peak; `rss_anon_mb` the part that is not files mapped from the OS cache (index
files, model, libraries: shared and reclaimable). Then search p50/p95 (the whole
Retriever.search: filters, every list, fusion, records; the question vectors are computed first,
as a service's query memo would), the exhaustive p50 on the same questions (the search as it was before candidates: every row of
every list scored exactly, every IVF list visited, every row ranked), and
recall@10 of the candidate stage against the exhaustive search: the dense and the sentence
lists' top 10 (`recall_at_10`, the mean of both), and the fused top 10. The last line is JSON.

Timing: every question is searched once first (the query memo then holds the vector of the text
search encodes, which drops named speakers and symbols, so no model runs in the timed loop), then
each question is timed fast and exhaustive back to back (`--rounds` times), so that both see the
same load on a shared machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QA_FILES = ("dev.jsonl", "extra.jsonl", "2023-dev.jsonl", "2023.jsonl")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, int(round(p / 100 * len(values) + 0.5)) - 1)]


# ------------------------------------------------------------------ building the tiled index

class Jittered:
    """texts -> the real index's vector of that text plus noise (the build's `embed`)."""

    def __init__(self, vectors: dict[str, np.ndarray], sigma: float, seed: int = 0) -> None:
        self.vectors = vectors
        self.sigma = sigma
        self.rng = np.random.default_rng(seed)

    def __call__(self, texts) -> np.ndarray:
        dim = len(next(iter(self.vectors.values())))
        out = np.empty((len(texts), dim), dtype=np.float32)
        for start in range(0, len(texts), 65536):  # in blocks: 2.5M sentences at 1M passages
            block = out[start:start + 65536]
            block[:] = [self.vectors[t] for t in texts[start:start + 65536]]
            block += self.sigma * self.rng.standard_normal(block.shape, dtype=np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        return out


def real_index(path: Path):
    """The real index's store, columns and vectors (what `real_corpus` reads), opened without
    its BM25: the tiled build tokenizes again with today's dictionary, so a real index built
    with an older one still serves as the source."""
    from rag import buildlock
    from rag import vectors as vec
    from rag.columns import Columns
    from rag.index import Index
    from rag.store import ChunkStore

    version = buildlock.current_version(Path(path))
    if version is None:
        raise SystemExit(f"no index at {path}: build it with `rag index`")
    config = json.loads((version / "config.json").read_text("utf-8"))
    parts = {kind: vec.VectorIndex(vec.read(version / f"{kind}.faiss", factory), version / f"{kind}.faiss")
             for kind, factory in config["factories"].items() if factory}
    return Index(path=version, config=config, store=ChunkStore(version / "store.sqlite"),
                 columns=Columns.load(version / "columns"), dense=parts["dense"], sentences=parts["sentences"],
                 dense_en=parts.get("dense_en"), sentences_en=parts.get("sentences_en"), bm25=None,
                 bm25_en=None, null=None)


def real_corpus(index) -> tuple[list, list, dict[str, str], dict[str, np.ndarray]]:
    """Documents, chunks, sources and text -> vector of the real index."""
    documents = list(index.documents)
    order = np.asarray(index.columns.order)
    chunks = index.get_chunks(order)
    sources = {d.id: index.source_text(d.id) for d in documents}
    vectors: dict[str, np.ndarray] = {}
    for c, v in zip(chunks, index.dense.vectors(order)):
        vectors[c.text] = v
    sids, _ = index.columns.sentence_ids(order)
    sentence_vectors = index.sentences.vectors(sids)
    texts = [s.strip() for c in chunks for s in _split(c.text)]
    vectors |= dict(zip(texts, sentence_vectors))
    english = np.asarray(index.columns.en)[order].astype(bool)
    en_chunks = [c for c, e in zip(chunks, english) if e]
    if index.dense_en is not None and english.any():
        vectors |= dict(zip((c.text_en for c in en_chunks), index.dense_en.vectors(order[english])))
    if index.sentences_en is not None:  # English sentence j of chunk row r has the id r * 16 + j
        from rag.sentences import ENGLISH_SENTENCES, split_english
        pairs = [(row * ENGLISH_SENTENCES + j, t) for row, c in zip(order[english].tolist(), en_chunks)
                 for j, t in enumerate(split_english(c.text_en))]
        vectors |= dict(zip((t for _, t in pairs), index.sentences_en.vectors([i for i, _ in pairs])))
    return documents, chunks, sources, vectors


def _split(text: str) -> list[str]:
    from rag.sentences import split_sentences
    return split_sentences(text)


def tile(documents, chunks, sources, n: int):
    """Whole copies of the corpus until n chunks, the last copy cut short."""
    from rag.records import chunk_id
    by_doc: dict[str, list] = {d.id: [] for d in documents}
    for c in chunks:
        by_doc[c.doc_id].append(c)
    out_docs, out_chunks, out_sources, k = [], [], {}, 0
    while len(out_chunks) < n:
        for d in documents:
            if len(out_chunks) >= n:
                break
            doc_id = d.id if k == 0 else f"{d.id}#{k}"
            doc = d if k == 0 else dataclasses.replace(d, id=doc_id, symbol=None)
            take = by_doc[d.id][: n - len(out_chunks)]
            out_docs.append(doc)
            out_sources[doc_id] = sources[d.id]
            out_chunks += [c if k == 0 else dataclasses.replace(
                c, id=chunk_id(doc_id, c.start, c.end, c.text), doc_id=doc_id, symbol=None) for c in take]
        k += 1
    return out_docs, out_chunks, out_sources


def build_tiled(path: Path, n: int, sigma: float, codes: str | None = None) -> dict:
    """Build the tiling at `path`; `codes` replaces the IVF indexes' codes of rag.vectors.auto_factory
    (e.g. SQfp16, the type before SQ8) to compare two builds of one tiling (bench/quantization.py)."""
    from rag import buildlock
    from rag import vectors as vec
    from rag.build import expected_config, write_version
    from rag.config import Settings
    from rag.lexical import Tokenizer

    real = real_index(Settings.from_env().index_path("default"))
    documents, chunks, sources, vectors = real_corpus(real)
    identity = type("Model", (), {"model_id": real.config["model_id"], "weights_hash": real.config["model_hash"],
                                  "dimension": real.config["dimension"]})()
    docs, tiled, srcs = tile(documents, chunks, sources, n)
    expected = expected_config(None, tiled, Tokenizer(), identity, "auto", corpus=f"tiled-{n}-{sigma}")
    if codes:
        production = vec.auto_factory

        def with_codes(count: int) -> str:  # "IVF1024,SQ8" -> "IVF1024,<codes>"; "Flat" stays
            factory = production(count)
            return factory.rsplit(",", 1)[0] + f",{codes}" if vec.is_ivf(factory) else factory

        vec.auto_factory = with_codes
    t0 = time.perf_counter()
    with buildlock.BuildLock(path):
        buildlock.clean_stale(path)
        write_version(path, docs, tiled, srcs, Jittered(vectors, sigma), expected)
    return {"build_s": round(time.perf_counter() - t0, 1), "documents": len(docs), "chunks": len(tiled)}


# ------------------------------------------------------------------ measuring (a fresh process)

def measure(path: Path, rounds: int = 1) -> dict:
    from rag import index as index_mod
    from rag.config import Settings
    from rag.embed import encoder_for
    from rag.pipeline import Pipeline
    from rag.retrieve import Retriever

    questions = [json.loads(line)["question"] for name in QA_FILES if (REPO / "eval" / name).exists()
                 for line in (REPO / "eval" / name).read_text("utf-8").splitlines() if line.strip()]
    settings = Settings.from_env()
    t0 = time.perf_counter()
    index = index_mod.load(path, nprobe=settings.nprobe)
    load_index = time.perf_counter() - t0
    encoder = encoder_for(None, settings)
    pipeline = Pipeline(index, encoder, settings=settings)
    pipeline.encoder.encode_queries([questions[0]])  # the model loads
    load_s = time.perf_counter() - t0
    fast = pipeline.retriever
    exact = Retriever(index, pipeline.encoder, candidates=fast.candidates, exhaustive=True,
                      fusion_mode=fast.fusion_mode)
    for q in questions:  # warm-up: the query memo gets the vector of each question's scoring
        fast.search(q, 10)  # text (what search encodes), the memory-mapped files their first touch
    service_rss, service_anon = _peak_rss_mb(), _anon_rss_mb()  # a service: nothing exhaustive yet
    mapped = _mapped_rss_mb()
    for q in questions[:10]:
        exact.search(q, 10)
    times, exact_times, dense_recall, sent_recall, fused_recall = [], [], [], [], []
    got, want = {}, {}
    for _ in range(rounds):
        for q in questions:  # each question fast then exhaustive: both see the same machine load
            t = time.perf_counter()
            got[q] = fast.search(q, 10)
            times.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            want[q] = exact.search(q, 10)
            exact_times.append((time.perf_counter() - t) * 1000)
    for q in questions:
        fused_recall.append(_overlap([p.chunk.id for p in got[q].passages], [p.chunk.id for p in want[q].passages]))
        vector = pipeline.encoder.encode_queries([q])
        allowed = index.body()
        a, b = fast._dense(vector, allowed), exact._dense(vector, allowed)
        dense_recall.append(_overlap(list(a)[:10], list(b)[:10]))
        a, b = fast._sentence(vector, allowed), exact._sentence(vector, allowed)
        sent_recall.append(_overlap(list(a)[:10], list(b)[:10]))
    return {
        "passages": index.live_count,
        "sentences": index.sentences.ntotal,
        "factories": index.config["factories"],
        "questions": len(questions),
        "rounds": rounds,
        "load_index_s": round(load_index, 2),
        "load_s": round(load_s, 2),
        "search_p50_ms": round(statistics.median(times), 1),
        "search_p95_ms": round(pct(times, 95), 1),
        "exhaustive_p50_ms": round(statistics.median(exact_times), 1),
        "recall_at_10": round(float(np.mean(dense_recall + sent_recall)), 4),
        "recall_at_10_dense": round(float(np.mean(dense_recall)), 4),
        "recall_at_10_sentence": round(float(np.mean(sent_recall)), 4),
        "recall_at_10_fused": round(float(np.mean(fused_recall)), 4),
        "rss_mb": service_rss,
        "rss_anon_mb": service_anon,
        "rss_with_exhaustive_mb": _peak_rss_mb(),
        "rss_mapped_mb": mapped,
    }


def _peak_rss_mb() -> int:
    """Peak RSS of this process (VmHWM). Not ru_maxrss: Linux carries that across exec, so the
    measuring child reported the building parent's peak (8.7 GB at 1M passages instead of 3.9)."""
    try:
        return round(_status_kb("VmHWM") / 1024)
    except (OSError, KeyError, ValueError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _mapped_rss_mb(top: int = 8) -> dict[str, int]:
    """Resident pages of the files mapped into this process, in MB, by file (the largest first)."""
    sizes: dict[str, int] = {}
    name = None
    try:
        for line in Path("/proc/self/smaps").read_text().splitlines():
            head = line.split(None, 5)
            if head and not head[0].endswith(":"):  # a mapping's header: address perms offset dev inode [path]
                name = head[5].strip() if len(head) > 5 and head[5].startswith("/") else None
            elif name and head[0] == "Rss:":
                sizes[name] = sizes.get(name, 0) + int(head[1])
    except OSError:
        return {}
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:top]
    return {_short(path): round(kb / 1024) for path, kb in largest}


def _short(path: str) -> str:
    """A mapped file's name with its folder (bm25/ and bm25_en/ hold files of the same names)."""
    if "/site-packages/" in path:
        return path.split("/site-packages/")[1]
    return "/".join(Path(path).parts[-2:])


def _anon_rss_mb() -> int | None:
    """Resident memory that is the process's own (not file pages mapped from the OS cache)."""
    try:
        return round(_status_kb("RssAnon") / 1024)
    except (OSError, KeyError, ValueError):
        return None


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _overlap(got: list, want: list) -> float:
    return len(set(got) & set(want)) / len(want) if want else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description="Tile the real index to N passages and time it.")
    parser.add_argument("--passages", type=int, required=True)
    parser.add_argument("--sigma", type=float, default=0.01, help="jitter per dimension (default 0.01)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/unrag-scale"),
                        help="where the tiled indexes are kept between runs (1M passages: ~5 GB of disk)")
    parser.add_argument("--rebuild", action="store_true", help="build again even if kept")
    parser.add_argument("--codes", help="the IVF codes instead of the production's (e.g. SQfp16); "
                                        "kept as its own tiling (bench/quantization.py --tiled compares two)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument("--rounds", type=int, default=1,
                        help="time every question this many times (steadier percentiles on a busy machine)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.rounds)))
        return
    path = args.work / (f"tiled-{args.passages}-{args.sigma}" + (f"-{args.codes}" if args.codes else ""))
    built = {"build_s": None}
    if args.rebuild or not path.exists():
        shutil.rmtree(path.parent / f".{path.name}.lock", ignore_errors=True)
        built = build_tiled(path, args.passages, args.sigma, args.codes)
    out = subprocess.run([sys.executable, __file__, "--passages", str(args.passages), "--rounds", str(args.rounds),
                          "--measure", str(path)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["build_s"] = built["build_s"]
    if not args.json:
        print(f"passages {result['passages']:,} (sentences {result['sentences']:,}); index types {result['factories']}")
        print(f"build {result['build_s']} s (None: reused from {path}); load: index {result['load_index_s']} s, "
              f"with the model {result['load_s']} s; peak RSS {result['rss_mb']} MB, of which "
              f"{result['rss_anon_mb']} MB its own memory (the rest: files mapped from the OS cache: index, model, libraries); "
              f"{result['rss_with_exhaustive_mb']} MB once the exhaustive reference has run")
        print("mapped files resident (MB): " + ", ".join(f"{k} {v}" for k, v in result["rss_mapped_mb"].items()))
        print(f"search over {result['questions']} questions x {result['rounds']}: p50 {result['search_p50_ms']} ms, "
              f"p95 {result['search_p95_ms']} ms; exhaustive p50 {result['exhaustive_p50_ms']} ms")
        print(f"recall@10 against exhaustive: dense {result['recall_at_10_dense']}, sentence "
              f"{result['recall_at_10_sentence']}, fused top 10 {result['recall_at_10_fused']}")
    keys = ("passages", "search_p50_ms", "search_p95_ms", "exhaustive_p50_ms", "recall_at_10", "rss_mb", "load_s")
    print(json.dumps({k: result[k] for k in keys} | {"rss_anon_mb": result["rss_anon_mb"],
                                                     "build_s": result["build_s"]}))


if __name__ == "__main__":
    main()
