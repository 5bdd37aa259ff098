"""rag.sentences.split_english: the English sentences that get vectors of their own."""

from __future__ import annotations

import pytest

from rag.sentences import ENGLISH_SENTENCES, split_english


@pytest.mark.parametrize("text, expected", [
    ("The Council met. It adjourned.", ["The Council met.", "It adjourned."]),
    ("Mr. Kariuki (Kenya) said that No. 5 stands; it does.",  # a break needs a capital after it
     ["Mr. Kariuki (Kenya) said that No. 5 stands; it does."]),
    ("Calls upon States to act; Requests the Office to help.",
     ["Calls upon States to act;", "Requests the Office to help."]),
    ("3. Requests the Secretary-General to report. 4. Decides to remain seized.",
     ["3. Requests the Secretary-General to report.", "4. Decides to remain seized."]),
    ("J. Smith spoke, e.g. On behalf of many. Then 2020 came.",
     ["J. Smith spoke, e.g. On behalf of many.", "Then 2020 came."]),
    ("“We must act.” The delegate sat down.", ["“We must act.”", "The delegate sat down."]),
    ("resolution 2518 (2020) and A/78/35. see below", ["resolution 2518 (2020) and A/78/35. see below"]),
    ("It was agenda item 4. The President spoke.", ["It was agenda item 4.", "The President spoke."]),
    ("  ", []),
])
def test_english_sentences(text: str, expected: list[str]) -> None:
    assert split_english(text) == expected


def test_a_long_text_keeps_at_most_the_limit_and_loses_no_word() -> None:
    text = " ".join(f"Sentence {i} ends here." for i in range(40))
    pieces = split_english(text)
    assert len(pieces) == ENGLISH_SENTENCES
    assert " ".join(pieces).split() == text.split()
