"""Metadata a UN document states about itself: symbol, kind, date, organ, title, meeting number.

    detect(head, text) -> dict[field, Found(value, evidence)]     # Chinese original
    detect_title_en(text) -> Found | None                          # its official English

Only what the document prints is taken, each value with the line it was read from (`evidence`);
a field the document does not state is absent — never guessed, and a symbol is never invented.
General rules over UN document conventions (README "Adding documents"):

- symbol: a document symbol standing alone in the masthead (`head`: the first rows of page 1, or
  the page header of a Word file), e.g. `联合国 S/PV.8838`; a symbol cited inside a sentence or in
  brackets (`[根据…(E/2023/L.19)通过]`) is not the document's own.
- the opening: the text's lines before the first body sentence (a line ending in 。！？；， or
  longer than 100 characters); the title, date, organ and meeting are read there.
- kind: from the symbol's form (`/PV.` verbatim record, `/SR.` summary record, `/RES/` resolution,
  `/PRST/` presidential statement, `/DEC/` decision), else from the title's closing term
  (临时逐字记录/逐字记录, 简要记录, 决议草案, 主席声明, 普通照会, …给…的信, 工作文件, 决议, 决定,
  报告, 议程).
- date: `YYYY年M月D日` in the title line, else on a meeting line (`…日星期三上午10时`), else the
  first in the opening (a range gives its first day), else opening the first body sentence
  (`2021年5月24日，…`: a presidential statement).
- organ: named in the title line (`…经济及社会理事会决议`, `…给大会主席的信`, `安全理事会主席声明`) or
  an adoption line (`安全理事会于…通过`), else a masthead line naming a body (`裁军审议委员会`,
  `巴勒斯坦人民行使不可剥夺权利委员会`), else the symbol's series (S/ 安全理事会, A/ 大会,
  E/ 经济及社会理事会). Organs come from rag/data/organs.tsv: the manifest gets the table's English
  name; a body the table lacks keeps its Chinese name as printed.
- title: the title line; a record's title gets the body's name in front (`…委员会第413次会议简要记录`),
  a resolution's the subject line after it (`…决议：加强…协调`); a masthead without a title line
  gives `<organ>第N次会议`.
- meeting: `第N次会议` in the opening of a record, else the number in a /PV. or /SR. symbol.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.text import nfkc

ORGANS_FILE = Path(__file__).parent / "data" / "organs.tsv"
OPENING_LINES = 25


@dataclass(frozen=True)
class Found:
    value: str | int
    evidence: str  # the line it was read from, or the rule that gave it


# ---------------------------------------------------------------- symbol

_PART = r"(?:[A-Z][A-Za-z]*(?:\.\d+)?|\d+(?:\.\d+)?[A-Za-z]?)"
SYMBOL_RE = re.compile(r"(?<![\w/.(\[（])([A-Z]{1,7}(?:\s?/\s?" + _PART + r")+(?:\s?\((?:19|20)\d\d\))?)(?![\w/])")


def clean_symbol(symbol: str) -> str:
    """`S / RES / 2518（2020）` -> `S/RES/2518 (2020)`."""
    s = "".join(nfkc(symbol).split())
    return re.sub(r"\((\d{4})\)$", r" (\1)", s)


def find_symbol(head: Sequence[str]) -> Found | None:
    for line in head:
        text = nfkc(line)
        for m in SYMBOL_RE.finditer(text):
            before, after = text[:m.start()], text[m.end():]
            alone = (not before or before[-1].isspace()) and (not after or after[0].isspace())
            if alone and any(c.isdigit() for c in m.group(1)):
                return Found(clean_symbol(m.group(1)), line.strip())
    return None


# ---------------------------------------------------------------- kind

_SYMBOL_KINDS = ((r"/PV\.\d", "meeting_record"), (r"/SR\.\d", "summary_record"), (r"/PRST/", "presidential_statement"),
                 (r"/RES/", "resolution"), (r"/DEC/", "decision"))
_TITLE_KINDS = (  # the title's closing term, longest first
    ("临时逐字记录", "meeting_record"), ("逐字记录", "meeting_record"), ("简要记录", "summary_record"),
    ("决议草案", "draft_resolution"), ("主席声明", "presidential_statement"), ("普通照会", "note_verbale"),
    ("工作文件", "working_paper"), ("的信", "letter"), ("决议", "resolution"), ("决定", "decision"),
    ("报告", "report"), ("临时议程", "agenda"), ("议程", "agenda"))
_NOT_TITLES = re.compile(r"^(通过议程|议程项目|议程通过)")


def kind_of_symbol(symbol: str) -> str | None:
    return next((kind for pattern, kind in _SYMBOL_KINDS if re.search(pattern, symbol)), None)


def title_kind(line: str) -> str | None:
    """The kind a title line names by its closing term (a trailing bracketed note aside)."""
    text = _squash_cjk(line)
    core = re.sub(r"[（(][^（()）]*[)）]$", "", text).rstrip()
    if _NOT_TITLES.match(core) or len(core) > 120 or SYMBOL_RE.search(text[len(core):]):
        return None  # a line ending in another document's symbol is an agenda item citing it
    return next((kind for term, kind in _TITLE_KINDS if core.endswith(term)), None)


# ---------------------------------------------------------------- dates

DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")


def _date(text: str) -> str | None:
    for m in DATE_RE.finditer(nfkc(text)):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------- organs

@dataclass(frozen=True)
class Organ:
    zh: str
    en: str
    names: tuple[str, ...]  # Chinese names and aliases, longest first


@functools.lru_cache(maxsize=2)
def organ_table(path: Path = ORGANS_FILE) -> tuple[Organ, ...]:
    """The organs and bodies of rag/data/organs.tsv (zh, en, aliases, kind; kind `organ`)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) < 4 or line.startswith("#") or cells[3] != "organ":
            continue
        names = [cells[0]] + [a.strip() for a in cells[2].split(";") if a.strip() and not a.strip().isascii()]
        out.append(Organ(cells[0], cells[1], tuple(sorted(set(names), key=len, reverse=True))))
    return tuple(out)


_BODY_LINE = re.compile(r"^[\u4e00-\u9fff《》]{2,40}(委员会|理事会|大会|工作组|特别委员会)$")
_SERIES = {"S": "安全理事会", "A": "大会", "E": "经济及社会理事会"}


def organ_in(line: str) -> Organ | None:
    """The organ of the table named in the line (the longest name wins)."""
    text = _squash_cjk(line)
    hits = [(len(name), o) for o in organ_table() for name in o.names if name in text]
    return max(hits, key=lambda h: h[0])[1] if hits else None


def organ_line(line: str) -> str | None:
    """A masthead line that is the name of a body: in the table, or shaped like one (…委员会)."""
    text = "".join(line.split())
    organ = next((o for o in organ_table() if text in o.names), None)
    return organ.zh if organ else text if _BODY_LINE.match(text) else None


def organ_value(zh: str) -> str:
    """What the manifest gets: the table's English name, else the Chinese as printed."""
    return next((o.en for o in organ_table() if zh in o.names), zh)


# ---------------------------------------------------------------- the opening of the text

def _squash_cjk(text: str) -> str:
    """Spaces dropped next to CJK characters (`2012 年 4 月` -> `2012年4月`), kept between Latin words."""
    text = " ".join(nfkc(text).split())
    return re.sub(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])", "", text)


def opening(text: str) -> tuple[list[str], str | None]:
    """The lines before the first body sentence, and that sentence's line."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or re.fullmatch(r"联\s*合\s*国|United Nations", line):
            continue
        if line[-1] in "。！？；，：.;:" or len(line) > 100:
            return lines, line
        lines.append(line)
        if len(lines) >= OPENING_LINES:
            break
    return lines, None


# ---------------------------------------------------------------- detect

def detect(head: Sequence[str], text: str) -> dict[str, Found]:
    """Everything the document states about itself (see the module docstring)."""
    found: dict[str, Found] = {}
    symbol = find_symbol(head)
    if symbol:
        found["symbol"] = symbol
    lines, first_sentence = opening(text)
    by_symbol = kind_of_symbol(str(symbol.value)) if symbol else None
    kinds = [title_kind(line) for line in lines]  # the title line must agree with the symbol's form
    title_i = next((i for i, k in enumerate(kinds) if k and by_symbol in (None, k)), None)
    title = lines[title_i] if title_i is not None else None
    kind = by_symbol or (title_kind(title) if title else None)
    if kind:
        found["kind"] = Found(kind, f"symbol {symbol.value}" if by_symbol else title)
    if date := _find_date(lines, title, first_sentence):
        found["date"] = date
    organ_zh = _find_organ(lines, title, symbol)
    if organ_zh:
        found["organ"] = Found(organ_value(str(organ_zh.value)), organ_zh.evidence)
    if kind in ("meeting_record", "summary_record") and (meeting := _find_meeting(lines, symbol)):
        found["meeting"] = meeting
    if t := _find_title(lines, title_i, kind, organ_zh, found.get("meeting")):
        found["title_zh"] = t
    return found


def _find_date(lines: list[str], title: str | None, first_sentence: str | None) -> Found | None:
    candidates = ([title] if title else []) + [line for line in lines if re.search(r"日\s*星期", line)] + lines
    for line in candidates:
        if value := _date(line):
            return Found(value, line)
    if first_sentence and DATE_RE.match(nfkc(first_sentence)) and (value := _date(first_sentence)):
        return Found(value, first_sentence[:60])
    return None


def _find_organ(lines: list[str], title: str | None, symbol: Found | None) -> Found | None:
    for line in ([title] if title else []) + [line for line in lines if re.search(r"于.*通过$", line)]:
        if organ := organ_in(line):
            return Found(organ.zh, line)
    bodies = [(line, organ_line(line)) for line in lines]
    run = [b for b in _first_run(bodies)]
    if run:
        return Found(run[-1][1], run[-1][0])
    if symbol and (zh := _SERIES.get(str(symbol.value).split("/")[0])):
        return Found(zh, f"symbol {symbol.value}")
    return None


def _first_run(bodies: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """The first consecutive masthead lines naming bodies (大会 / 裁军审议委员会): the last is the
    most specific."""
    run: list[tuple[str, str]] = []
    for line, zh in bodies:
        if zh:
            run.append((line, zh))
        elif run:
            break
    return run


def _find_meeting(lines: list[str], symbol: Found | None) -> Found | None:
    for line in lines:
        if m := re.search(r"第\s*(\d+)\s*次(?:全体)?会议", nfkc(line)):
            return Found(int(m[1]), line)
    if symbol and (m := re.search(r"/(?:PV|SR)\.(\d+)", str(symbol.value))):
        return Found(int(m[1]), f"symbol {symbol.value}")
    return None


def _find_title(lines: list[str], i: int | None, kind: str | None, organ: Found | None,
                meeting: Found | None) -> Found | None:
    organ_zh = str(organ.value) if organ else ""
    if i is None:
        if meeting and organ_zh and kind in ("meeting_record", "summary_record"):
            return Found(f"{organ_zh}第{meeting.value}次会议", meeting.evidence)
        return None
    title = _squash_cjk(lines[i])
    if kind in ("meeting_record", "summary_record") and organ_zh and organ_zh not in title:
        return Found(organ_zh + title, f"{organ.evidence} + {lines[i]}")
    if kind in ("resolution", "decision", "draft_resolution", "presidential_statement"):
        rest = [line for line in lines[i + 1:i + 3] if not line.startswith(("[", "［"))]
        subject = rest[0] if rest else None
        if subject and not re.search(r"于.*通过$|[，。；：,;:]$", subject) and not organ_line(subject):
            return Found(f"{title}：{_squash_cjk(subject)}", f"{lines[i]} + {subject}")
    return Found(title, lines[i])


# ---------------------------------------------------------------- the English title

_EN_TITLE = re.compile(
    r"^(letter|identical letters|note verbale) dated |^resolution (\d+|adopted)|^decision \d|"
    r"^statement by the president|^(provisional )?(verbatim|summary) record|^working paper|^report of|"
    r"^draft (resolution|decision)|^(provisional )?agenda$|^explanatory note by ", re.I)


def detect_title_en(text: str) -> Found | None:
    """The English title among the first lines of the official English text, by the UN's title
    forms (`Letter dated … addressed to …`, `Resolution adopted by …`, `Summary record of …`)."""
    for line in [line.strip() for line in text.splitlines() if line.strip()][:OPENING_LINES]:
        if _EN_TITLE.search(line) and len(line) < 300:
            return Found(" ".join(line.split()), line)
    return None
