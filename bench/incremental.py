"""Adding one document to a built index against a full build, with the real model.

In a scratch directory: a full build of the bundled corpus without DOC (fresh embedding cache),
then DOC added back and `rag index`'s build run again; a full build of the whole corpus with a
fresh cache gives the reference. Prints the three times, what each embedded, and the ratio.
Run: .venv/bin/python bench/incremental.py [--doc ID]   (default: the manifest's longest document)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rag import index as index_mod  # noqa: E402
from rag.build import build  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embed import encoder_for  # noqa: E402


def corpus_without(src: Path, dst: Path, doc_id: str | None) -> dict:
    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text("utf-8"))
    entry = next(d for d in manifest["documents"] if d["id"] == doc_id)
    manifest["documents"].remove(entry)
    for name in [entry["file"], *(entry.get("translations") or {}).values()]:
        (dst / name).rename(dst.parent / name)
    (dst / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")
    return entry


def put_back(corpus: Path, entry: dict) -> None:
    manifest = json.loads((corpus / "manifest.json").read_text("utf-8"))
    manifest["documents"].append(entry)
    for name in [entry["file"], *(entry.get("translations") or {}).values()]:
        (corpus.parent / name).rename(corpus / name)
    (corpus / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), "utf-8")


def timed_build(corpus: Path, path: Path, encoder) -> tuple[float, dict]:
    t = time.perf_counter()
    build(corpus, path, encoder, settings=Settings())
    return time.perf_counter() - t, index_mod.read_config(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", default=None)
    args = parser.parse_args()
    manifest = json.loads((REPO / "corpus" / "manifest.json").read_text("utf-8"))
    doc = args.doc or max(manifest["documents"], key=lambda d: (REPO / "corpus" / d["file"]).stat().st_size)["id"]
    encoder = encoder_for(None, Settings.from_env())
    encoder.encode_queries(["warm-up"])  # the model loads outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        full_s, full = timed_build(REPO / "corpus", tmp / "full" / "default", encoder)
        entry = corpus_without(REPO / "corpus", tmp / "work" / "corpus", doc)
        base_s, _ = timed_build(tmp / "work" / "corpus", tmp / "work" / "idx" / "default", encoder)
        put_back(tmp / "work" / "corpus", entry)
        add_s, added = timed_build(tmp / "work" / "corpus", tmp / "work" / "idx" / "default", encoder)
    print(f"full build of {full['n_documents']} documents ({full['n_chunks']} chunks): {full_s:.1f} s, "
          f"embedded {full['embedded']} texts")
    print(f"build without {doc}: {base_s:.1f} s")
    print(f"adding {doc} back: {add_s:.1f} s, embedded {added['embedded']} texts, "
          f"reused {added['reused']}")
    print(f"add / full = {add_s / full_s:.2f}")
    print(json.dumps({"full_s": round(full_s, 1), "add_s": round(add_s, 1), "ratio": round(add_s / full_s, 3),
                      "doc": doc, "embedded_full": full["embedded"], "embedded_add": added["embedded"]}))


if __name__ == "__main__":
    main()
