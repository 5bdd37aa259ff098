"""The closed vocabulary of document kinds, the speaker rule of each, and Chinese names of
organs, states and authors from the general tables (rag/data/organs.tsv, member_states.tsv).

| kind | who speaks |
|---|---|
| meeting_record (verbatim) | turns from speaker headers (rag.speakers) |
| summary_record | turns from indirect speech (rag.summary) |
| resolution, decision, draft_resolution | the manifest's organ, in Chinese (经济及社会理事会) |
| presidential_statement | the President on behalf of the organ (安全理事会主席（代表安理会）) |
| letter, note_verbale, working_paper, report | the author, in Chinese: from title_zh, else the manifest's author |
| agenda | nobody (agenda lines are front matter and headings) |
| other | the manifest's author when given, else nobody |

The manifest field is `type` (`kind` accepted as a synonym); chunks carry it as `doc_type`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
KINDS: dict[str, str] = {
    "meeting_record": "turns",
    "summary_record": "summary",
    "resolution": "organ",
    "decision": "organ",
    "presidential_statement": "president",
    "letter": "author",
    "note_verbale": "author",
    "report": "author",
    "working_paper": "author",
    "draft_resolution": "organ",
    "agenda": "none",
    "other": "author_if_given",
}
RECORD_KINDS = ("meeting_record", "summary_record")  # documents split into speaker turns
ORGAN_KINDS = tuple(k for k, rule in KINDS.items() if rule in ("organ", "president"))  # need `organ`
WRITTEN_KINDS = tuple(k for k in KINDS if k not in RECORD_KINDS)  # a text that states, not a speech


def check_kind(kind: str) -> str:
    """`kind` if it is in the vocabulary; ValueError listing the vocabulary otherwise."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}; the kinds are: {', '.join(KINDS)}")
    return kind


# ---------------------------------------------------------------- the name tables

def _norm(name: str) -> str:
    return " ".join(name.replace("’", "'").split()).casefold()


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(organ/body name or alias -> Chinese name, state name or alias -> Chinese short name)."""
    bodies: dict[str, str] = {}
    for line in (DATA / "organs.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) == 4 and not line.startswith("#"):
            for name in [cells[0], cells[1], *cells[2].split(";")]:
                bodies.setdefault(_norm(name), cells[0].strip())
    states: dict[str, str] = {}
    for line in (DATA / "member_states.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) == 5 and not line.startswith("#"):
            for name in [cells[0], cells[1], *cells[2].split(";")]:
                states.setdefault(_norm(name), cells[0].strip())
    bodies.pop("", None)
    states.pop("", None)
    return bodies, states


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in s)


def _strip_brackets(name: str) -> str:
    return re.sub(r"\s*[（(][^（）()]*[）)]\s*", " ", name).strip()


def organ_zh(organ: str | None) -> str | None:
    """The Chinese name of an organ or body as the manifest writes it ('Economic and Social
    Council', 'Disarmament Commission (General Assembly)', '经社理事会'); None if no table holds it."""
    if not organ:
        return None
    bodies, _ = _tables()
    for name in (organ, _strip_brackets(organ), re.sub(r"^the\s+", "", _strip_brackets(organ), flags=re.I)):
        if _norm(name) in bodies:
            return bodies[_norm(name)]
    return None


def state_zh(name: str) -> str | None:
    """The Chinese short name of a member or observer state ('Ukraine' -> 乌克兰), else None."""
    _, states = _tables()
    name = re.sub(r"^the\s+", "", name.strip(), flags=re.I)
    return states.get(_norm(name))


_MISSION = re.compile(r"Permanent Mission of (?P<x>.+?) to the United Nations", re.I)
_REPRESENTATIVE = re.compile(r"Permanent Representatives? of (?P<x>.+?) to the United Nations", re.I)
_CHAIR = re.compile(r"Chair(?:man|person)? of (?P<x>.+)", re.I)


def author_core(author: str) -> str:
    """Who an English manifest author is, without brackets and office: 'Chair of Working Group I of
    the Disarmament Commission' -> 'Working Group I of the Disarmament Commission'."""
    core = _strip_brackets(author)
    for pattern in (_MISSION, _REPRESENTATIVE, _CHAIR):
        m = pattern.fullmatch(core)
        if m:
            return m["x"].strip()
    return core


def author_zh(author: str | None) -> str | None:
    """The Chinese form of a manifest author: itself when Chinese; else through the tables
    ('Permanent Mission of Ukraine to the United Nations' -> 乌克兰常驻联合国代表团, 'Non-Aligned
    Movement' -> 不结盟运动, a state -> its short name); None when no table gives one."""
    if not author or not author.strip():
        return None
    if _has_cjk(author):
        return author.strip()
    core = _strip_brackets(author)
    for pattern, suffix in ((_MISSION, "常驻联合国代表团"), (_REPRESENTATIVE, "常驻联合国代表")):
        m = pattern.fullmatch(core)
        if m and (zh := state_zh(m["x"])):
            return zh + suffix
    m = _CHAIR.fullmatch(core)
    if m and (zh := organ_zh(m["x"])):
        return zh + "主席"
    return state_zh(core) or organ_zh(core)
