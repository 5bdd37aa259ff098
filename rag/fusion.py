"""Hybrid fusion: pure functions over ranked lists of item ids and their scores."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from rag.errors import InputError

MODES = ("rrf", "sum", "minmax")

Ranked = Sequence[int] | Mapping[int, float]  # item ids best first, or item id -> score, best first


def fuse(rankings: Mapping[str, Ranked], *, mode: str = "rrf", weights: Mapping[str, float] | None = None,
         k: int = 60, flat: Collection[str] = (), flat_score: float = 1.5,
         scale: Mapping[int, float] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked lists of item ids into one ranking, best first.

    mode "rrf": reciprocal rank fusion, score(d) = sum_r weight_r / (k + rank_r(d)), rank from 1.
    mode "sum": score(d) = sum_r weight_r * (1 - (rank_r(d) - 1) / len(list_r)), a linear rank score.
    mode "minmax": score(d) = sum_r weight_r * (s_r(d) - min_r) / (max_r - min_r), each list's own
    scores rescaled to [0, 1] over the items it brings (CombSUM of min-max normalised scores); it
    needs scores (a mapping item -> score). Unlike ranks, it keeps how far a list's best stands
    above the rest: one lexical list sure of its first hit is no longer outvoted by three dense
    lists that are each a little surer of another. A list whose scores are all equal gives 1.
    A list named in `flat` is a set, not a ranking: every item in it counts as rank 1 (in "minmax",
    as `flat_score`, relative to a list's best at 1): a boost for belonging, which adds no second
    copy of another list's order. A list missing from `weights` has weight 1.0; an item absent
    from a list gets nothing from it. `scale`: a factor on an item's share of the ranked (not flat)
    lists, for an item that some lists cannot hold by design (rag.retrieve: a chunk without an
    official English is in none of the English lists). Ties are broken by item id so the result
    is deterministic.
    """
    if mode not in MODES:
        raise InputError(f"unknown fusion mode {mode!r}; expected one of {MODES}")
    weights = weights or {}
    scores: dict[int, float] = {}
    for name, ranked in rankings.items():
        w = float(weights.get(name, 1.0))
        factor = {} if scale is None or name in flat else scale
        for item, part in _parts(name, ranked, mode, k, name in flat, flat_score):
            scores[item] = scores.get(item, 0.0) + w * part * factor.get(item, 1.0)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _parts(name: str, ranked: Ranked, mode: str, k: int, flat: bool, flat_score: float) -> list[tuple[int, float]]:
    """Each item of one list with its unweighted share of the fused score."""
    if mode == "minmax" and flat:
        return [(item, flat_score) for item in ranked]
    if mode == "minmax":
        if not isinstance(ranked, Mapping):
            raise InputError(f"minmax fusion needs scores, and list {name!r} has only ranks")
        lo, hi = min(ranked.values(), default=0.0), max(ranked.values(), default=0.0)
        return [(item, (s - lo) / (hi - lo) if hi > lo else 1.0) for item, s in ranked.items()]
    n = len(ranked)
    ranks = [(item, 1 if flat else rank) for rank, item in enumerate(ranked, 1)]
    return [(item, 1 / (k + r) if mode == "rrf" else 1 - (r - 1) / n) for item, r in ranks]


def confine(rankings: Mapping[str, Mapping[int, float]], names: Collection[str],
            keep: Callable[[int], bool]) -> dict[str, dict[int, float]]:
    """Each named flat list split in two: the members `keep` accepts keep the list's name (and
    its weight); the others move to `<name>:elsewhere`, a boost of the default weight. Empty
    lists are dropped."""
    out = dict(rankings)
    for name in names:
        out[name] = {item: 1.0 for item in rankings[name] if keep(item)}
        out[f"{name}:elsewhere"] = {item: 1.0 for item in rankings[name] if not keep(item)}
    return {name: ranked for name, ranked in out.items() if ranked}


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
