"""Sentence splitting for Chinese (and mixed) text, shared by indexing and answer composition, and
the punctuation sets every module uses to decide where a sentence ends.

The sets nest (each adds to the one before) and differ on purpose (see the comment on each); they
are not to be merged: stored sentence vectors, golden-hashed chunks and the reflowed paragraphs
depend on them.
"""

from __future__ import annotations

import re

SPLITTER_VERSION = "1"  # bump when split_sentences changes: stored sentence vectors depend on it

# 。！？!?: a sentence surely ended. A speaker header's rest must hold one to be speech (a list
# entry ends at ；, rag.speakers); LLM answers are split (rag.llm) and streamed (service) at them.
FULL_STOPS = "。！？!?"
# + ；: the sentences of a passage (split_sentences: answer sentences, stored sentence vectors).
SENTENCE_ENDS = FULL_STOPS + "；"
# + ASCII ;: where a long paragraph may be cut into chunks (rag.chunks, golden-hashed output).
CHUNK_ENDS = SENTENCE_ENDS + ";"
# + … ： and ASCII :: a PDF line ending here may end its paragraph (rag.reflow, layout only): a line ending at
# a colon is a speaker header or a list's lead-in, and what follows starts a new paragraph.
LINE_ENDS = CHUNK_ENDS + "…：:"

# Closing quotes and brackets that stay with the sentence they end.
CLOSERS = "”’」』）)"  # rag.chunks (golden-hashed output): no straight quotes
QUOTE_CLOSERS = CLOSERS + "\"'"  # split_sentences, rag.llm
LINE_CLOSERS = QUOTE_CLOSERS + "》〉】"  # rag.reflow: stripped from a line's end before LINE_ENDS
# rag.speakers, after FULL_STOPS, where a glued speaker header may start: no 」』 (kept as found;
# turn boundaries, hence the golden-hashed chunks, depend on it).
HEADER_CLOSERS = "”’）)"

# A sentence ends at a run of SENTENCE_ENDS, plus any closing quotes/brackets right after.
_SENTENCE = re.compile(rf"[^{SENTENCE_ENDS}]*(?:[{SENTENCE_ENDS}]+[{QUOTE_CLOSERS}]*|$)")


def split_sentences(text: str) -> list[str]:
    """Split into sentences, keeping each sentence's final punctuation. Joining the result gives
    back `text` exactly (nothing is dropped), except for whitespace-only pieces, which are omitted."""
    return [s for s in _SENTENCE.findall(text) if s.strip()]


# --- English (the official translations) -----------------------------------------------------

ENGLISH_SPLITTER_VERSION = "1"  # bump when split_english changes: the English sentence vectors depend on it
ENGLISH_SENTENCES = 16  # at most this many per chunk (the rest joins the last): FAISS ids are chunk id * 16 + j

# Words ending in a full stop that do not end a sentence (titles, references, Latin).
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st no nos para paras art arts vol vols p pp op cit "
                           "e.g i.e etc cf al approx fig sect ch rev corr add amend jr sr".split())
_EN_BREAK = re.compile(r"(?<=[.!?;])[\"'”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")


def split_english(text: str, limit: int = ENGLISH_SENTENCES) -> list[str]:
    """English sentences: a break after . ! ? or ; followed by space and a capital or a digit,
    except after an abbreviation (Mr., No., para.), a lone initial (J. Smith) or a paragraph
    number opening the text (`3. The Council`: the number stays with its sentence; `item 4. The`
    is a break). At most `limit` pieces: the
    rest is joined to the last. Stripped; empty pieces omitted."""
    pieces, start = [], 0
    for m in _EN_BREAK.finditer(text):
        head = text[start:m.start()].rstrip()
        word = re.search(r"([A-Za-z][A-Za-z.]*|\d+)\.$", head)
        if word and (word.group(1).lower().rstrip(".") in _ABBREVIATIONS or
                     (len(word.group(1)) == 1 and word.group(1).isalpha()) or head == word.group(0)):
            continue
        pieces.append(text[start:m.end()].strip())
        start = m.end()
    pieces.append(text[start:].strip())
    pieces = [p for p in pieces if p]
    if len(pieces) > limit:
        pieces = pieces[:limit - 1] + [" ".join(pieces[limit - 1:])]
    return pieces
