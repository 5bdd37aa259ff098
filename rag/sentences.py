"""Sentence splitting for Chinese (and mixed) text, shared by indexing and answer composition."""

from __future__ import annotations

import re

SPLITTER_VERSION = "1"  # bump when split_sentences changes: stored sentence vectors depend on it

# A sentence ends at 。！？；!? (and a run of them), plus any closing quotes/brackets right after.
_SENTENCE = re.compile(r"[^。！？；!?]*(?:[。！？；!?]+[”’」』）)\"']*|$)")


def split_sentences(text: str) -> list[str]:
    """Split into sentences, keeping each sentence's final punctuation. Joining the result gives
    back `text` exactly (nothing is dropped), except for whitespace-only pieces, which are omitted."""
    return [s for s in _SENTENCE.findall(text) if s.strip()]
