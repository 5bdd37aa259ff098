"""rag.fusion: reciprocal rank fusion and the two-language view of a row."""

from __future__ import annotations

import pytest

from rag.errors import InputError
from rag.fusion import bilingual, confine, fuse


def test_rrf_rewards_rows_ranked_high_in_several_lists() -> None:
    fused = fuse({"a": [1, 2, 3], "b": [2, 3, 1]}, k=10)
    assert [row for row, _ in fused] == [2, 1, 3]


def test_a_weight_of_zero_silences_a_list() -> None:
    fused = fuse({"a": [1, 2], "b": [2, 1]}, weights={"b": 0.0}, k=10)
    assert [row for row, _ in fused] == [1, 2]


def test_an_unknown_mode_is_an_input_error() -> None:
    with pytest.raises(InputError):
        fuse({"a": [1]}, mode="max")


def test_the_english_view_is_shifted_by_the_median_gap_before_it_competes() -> None:
    # rows 1-3 are translated: their English scores run 0.10 above the Chinese ones
    native = {1: 0.80, 2: 0.78, 3: 0.76, 4: 0.79}
    english = {1: 0.90, 2: 0.88, 3: 0.91}
    merged = bilingual(native, english)
    assert merged[3] == pytest.approx(0.81)  # its English sentence is its better view
    assert merged[4] == 0.79  # the untranslated row keeps its place above row 2
    assert list(merged) == [3, 1, 4, 2]


def test_without_enough_rows_scored_both_ways_the_native_scores_stand() -> None:
    native = {1: 0.8, 2: 0.7}
    assert bilingual(native, {1: 0.95, 5: 0.99}) == native


def test_a_translated_row_outside_the_native_candidates_joins_the_list() -> None:
    merged = bilingual({1: 0.8, 2: 0.7, 3: 0.6}, {1: 0.9, 2: 0.8, 3: 0.7, 9: 0.95})
    assert 9 in merged and merged[9] == pytest.approx(0.85)


def test_a_flat_list_is_a_set_every_member_counts_as_rank_one():
    lists = {"dense": [3, 1, 2], "route_speaker": [2, 1]}
    flat = dict(fuse(lists, k=10, flat=["route_speaker"]))
    assert flat[1] == pytest.approx(1 / 12 + 1 / 11) and flat[2] == pytest.approx(1 / 13 + 1 / 11)
    ranked = dict(fuse(lists, k=10))
    assert ranked[2] == pytest.approx(1 / 13 + 1 / 11) and ranked[1] == pytest.approx(1 / 12 + 1 / 12)
    assert [i for i, _ in fuse(lists, k=10, flat=["route_speaker"])] == [1, 2, 3]


def test_minmax_keeps_how_far_a_list_is_sure_of_its_first_item():
    # three lists a little surer of 2, one list far surer of 1: ranks alone vote for 2
    lists = {"dense": {2: 0.90, 1: 0.89, 3: 0.50}, "sentence": {2: 0.91, 1: 0.90, 3: 0.40},
             "dense_en": {2: 0.88, 1: 0.87, 3: 0.60}, "bm25": {1: 30.0, 2: 3.0, 3: 2.0}}
    assert [i for i, _ in fuse(lists, k=10)][0] == 2
    scores = dict(fuse(lists, mode="minmax"))
    assert [i for i, _ in fuse(lists, mode="minmax")][0] == 1
    assert scores[3] == pytest.approx(0.0)  # the lowest in every list


def test_minmax_counts_a_flat_member_as_flat_score_and_an_even_list_as_one():
    lists = {"bm25": {5: 2.0, 6: 2.0}, "route_type": {6: 1.0, 7: 1.0}}
    scores = dict(fuse(lists, mode="minmax", flat=["route_type"], flat_score=1.5,
                       weights={"route_type": 2.0}))
    assert scores == {5: pytest.approx(1.0), 6: pytest.approx(4.0), 7: pytest.approx(3.0)}


def test_minmax_needs_scores_not_only_ranks():
    with pytest.raises(InputError, match="needs scores"):
        fuse({"dense": [1, 2]}, mode="minmax")


def test_scale_multiplies_an_items_share_of_the_ranked_lists_not_of_the_flat_ones():
    lists = {"a": {1: 1.0, 2: 0.5, 3: 0.0}, "b": {1: 1.0, 3: 0.0}, "boost": {2: 1.0}}
    plain = dict(fuse(lists, mode="minmax", flat=["boost"]))
    scaled = dict(fuse(lists, mode="minmax", flat=["boost"], scale={2: 2.0}))
    assert plain[2] == 0.5 + 1.5 and scaled[2] == 2 * 0.5 + 1.5  # the boost is not scaled
    assert scaled[1] == plain[1] and scaled[3] == plain[3]


def test_confine_keeps_a_flat_lists_name_for_the_members_kept_and_moves_the_rest():
    lists = {"dense": {1: 0.9, 2: 0.8, 3: 0.7}, "answer_type:signature": {1: 1.0, 3: 1.0}, "boost": {2: 1.0}}
    out = confine(lists, ["answer_type:signature"], lambda row: row < 3)
    assert out["answer_type:signature"] == {1: 1.0} and out["answer_type:signature:elsewhere"] == {3: 1.0}
    assert out["dense"] == lists["dense"] and out["boost"] == lists["boost"]
    assert "x:elsewhere" not in confine({"x": {1: 1.0}}, ["x"], lambda row: True)  # no empty lists
