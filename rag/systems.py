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
        # one list each (plus the answer-type boosts), fused by RRF as they always were: under
        # min-max a boost (1.5) would outweigh a lone list's best (1)
        systems["bm25 only"] = Retriever(pipeline.index, pipeline.encoder, mode="bm25", routing=False,
                                         fusion_mode="rrf")
        systems["dense only"] = Retriever(pipeline.index, pipeline.encoder, mode="dense", routing=False,
                                          fusion_mode="rrf", weights={"dense": 1.0, "sentence": 0.0})
        systems["naive"] = NaiveBaseline(corpus_dir, pipeline.encoder)
    return systems
