"""The systems `rag eval` compares: ours (hybrid + routing + answers) and the baselines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.baselines import NaiveBaseline
from rag.pipeline import Pipeline
from rag.retrieve import Retriever


def evaluation_systems(pipeline: Pipeline, corpus_dir: Path, *, baselines: bool = True) -> dict[str, Any]:
    """'ours' has search and ask; the baselines only search (same model, same questions)."""
    systems: dict[str, Any] = {"ours": pipeline}
    if baselines:
        systems["bm25 only"] = Retriever(pipeline.index, pipeline.encoder, mode="bm25", routing=False)
        systems["dense only"] = Retriever(pipeline.index, pipeline.encoder, mode="dense", routing=False,
                                          weights={"dense": 1.0, "sentence": 0.0})
        systems["naive"] = NaiveBaseline(corpus_dir, pipeline.encoder)
    return systems
