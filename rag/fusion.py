"""Hybrid fusion: pure functions over ranked lists of item ids and their scores."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from rag.errors import InputError

MODES = ("rrf", "sum")


def fuse(rankings: Mapping[str, Sequence[int]], *, mode: str = "rrf",
         weights: Mapping[str, float] | None = None, k: int = 60,
         flat: Collection[str] = ()) -> list[tuple[int, float]]:
    """Fuse ranked lists (best first) of item ids into one ranking, best first.

    mode "rrf": reciprocal rank fusion, score(d) = sum_r weight_r / (k + rank_r(d)), rank from 1.
    mode "sum": score(d) = sum_r weight_r * (1 - (rank_r(d) - 1) / len(list_r)), a linear rank score.
    A list named in `flat` is a set, not a ranking: every item in it counts as rank 1 (a boost for
    belonging, which adds no second copy of another list's order). A list missing from `weights`
    has weight 1.0; an item absent from a list gets nothing from it. Ties are broken by item id so
    the result is deterministic.
    """
    if mode not in MODES:
        raise InputError(f"unknown fusion mode {mode!r}; expected one of {MODES}")
    weights = weights or {}
    scores: dict[int, float] = {}
    for name, ranked in rankings.items():
        w = float(weights.get(name, 1.0))
        n = len(ranked)
        for rank, item in enumerate(ranked, 1):
            rank = 1 if name in flat else rank
            part = w / (k + rank) if mode == "rrf" else w * (1 - (rank - 1) / n)
            scores[item] = scores.get(item, 0.0) + part
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def bilingual(native: Mapping[int, float], english: Mapping[int, float], min_pairs: int = 3) -> dict[int, float]:
    """One score per row from two views of it, for an English question: the cosine with the
    Chinese text (`native`) and with its official English (`english`, translated rows only).

    English-English cosines run higher than English-Chinese ones, so taken as they are the
    English view would rank every translated row above every untranslated one. The English
    scores are shifted down by the median gap over the rows scored both ways, then each row
    keeps its better view. Fewer than `min_pairs` such rows: the gap is unknown, `native` is
    returned as it is. Best first (ties by row)."""
    both = english.keys() & native.keys()
    if len(both) < min_pairs:
        return dict(native)
    gap = float(np.median([english[r] - native[r] for r in both]))
    out = dict(native)
    for row, score in english.items():
        out[row] = max(out.get(row, -np.inf), score - gap)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))
