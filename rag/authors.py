"""Authors named loosely: `之友小组的信`, `工作组主席的文件`, `the Group of Friends`, `the Working
Group I paper`. The entity tables know states, organs and roles; a letter's or working paper's
author is often none of these (捍卫《联合国宪章》之友小组, 第一工作组主席), and users shorten it.

For each one-voice document whose voice label holds no state or organ of the tables, the author
is an entity named by its label, by each Chinese tail of the label of four characters or
more that no other label ends with (之友小组, 工作组主席), and by each English prefix of three words
or more of the manifest's author (its core: `Chair of X` -> X) that no other author holds (Group of
Friends, Working Group I). Built once per index (rag.retrieve), matched like the tables' names
(rag.mentions decides whether the name speaks or is the topic); kind `author`, a boost like an
organ (rag.filters.HARD_KINDS): a short form is less sure than a full name, which the tables make
a filter when they know it (tuning sets: hit@1 125 as a filter, 126 as a boost, of 150).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.entities import Entity, Gazetteer, Matcher, entity_matchers, name_spans
from rag.kinds import author_core
from rag.lexical import has_cjk

MIN_TAIL = 4  # Chinese characters
MIN_WORDS = 3  # English words: `Working Group` alone is any working group
KNOWN_KINDS = ("state", "observer", "organ")  # a label holding one is that party's (its mission, its chair)
_WORD = re.compile(r"[A-Za-z][\w'-]*|\b[IVX]+\b")
_LINKS = {"of", "the", "in", "and", "on", "for", "to"}
_TAIL_START = r"(?:(?<![\u3400-\u9fff])|(?<=[的该那这个位]))"


def author_entities(voices: Sequence[tuple[str, str | None]], gaz: Gazetteer) -> list[Entity]:
    """voices: (voice label, manifest author in English or None) of each one-voice document."""
    labels = list(dict.fromkeys(label for label, _ in voices))
    cores = {label: author_core(en) for label, en in voices if en}
    out = []
    for label in labels:
        if len(label.strip()) < 2 or _tabled(label, gaz):
            continue
        tails = [label[i:] for i in range(1, len(label) - MIN_TAIL + 1)
                 if not any(o != label and o.endswith(label[i:]) for o in labels)]
        phrases = [p for p in _prefixes(cores.get(label) or "")
                   if not any(o != label and _holds(c, p) for o, c in cores.items())
                   and not _tabled(p, gaz)]
        known = gaz.entity(label)  # 捍卫《联合国宪章》之友小组 is in the tables, without its short forms
        en = known.en if known else cores.get(label) or label
        out.append(Entity(label, label, en, "author", tuple(tails + phrases)))
    return out


def author_matchers(voices: Sequence[tuple[str, str | None]], gaz: Gazetteer) -> list[Matcher]:
    """Matchers of the author entities. A Chinese tail matches only where it starts a name: after
    no Chinese character, or after 的/该/那/这/个/位 (`第二工作组主席` is not `工作组主席`, `海地之友小组`
    not `之友小组`)."""
    out: list[Matcher] = []
    for e in author_entities(voices, gaz):
        for pattern, ent in entity_matchers(e):
            if has_cjk(pattern.pattern) and pattern.pattern != re.escape(e.canonical):
                pattern = re.compile(_TAIL_START + pattern.pattern)
            out.append((pattern, ent))
    return out


def _tabled(name: str, gaz: Gazetteer) -> bool:
    """Does the name hold a state or organ (乌克兰常驻联合国代表团, 安全理事会主席, Disarmament
    Commission)? Its short forms are that party's, which the tables already resolve."""
    return any(s.entity is not None and s.entity.kind in KNOWN_KINDS for s in name_spans(name, gaz.matchers))


def _holds(text: str, phrase: str) -> bool:
    """The phrase as whole words (`Working Group I` is not in `Working Group II`)."""
    return re.search(rf"(?<![A-Za-z]){re.escape(phrase)}(?![A-Za-z])", text, re.I) is not None


def _prefixes(core: str) -> list[str]:
    """`Group of Friends in Defense of …` -> `Group of Friends`, `Group of Friends in Defense`, …:
    prefixes of MIN_WORDS words or more that end on a name word, not a link word."""
    words = _WORD.findall(core)
    return [" ".join(words[:n]) for n in range(MIN_WORDS, len(words) + 1)
            if words[n - 1].lower() not in _LINKS]
