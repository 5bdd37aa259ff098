"""Speaker turns in meeting records, and the speaker of documents without turns.

Rules (general, see docs/ingestion.md):

- A speaker header opens a paragraph: `WHO [（AFFILIATION）] [（以X语发言）] ：` with mixed half/full-width
  brackets and colons. WHO is either a person (ends in an honorific: 先生, 女士, 夫人, …) or a bare
  title of at most 8 CJK characters (主席, 秘书长). A header must introduce speech: the text after
  the colon is empty (the speech starts in the next paragraph) or contains a sentence end.
  So `对保护者的保护：技术与维和` (agenda title) and `主席：澳大利亚大使…加里·昆兰` (a list entry) are not
  headers. A header that the reflow glued to the end of the previous paragraph (at the start of a
  source line, after a sentence end) still opens a new paragraph.
- In the President's turn, a paragraph `我现在以X的身份发言` opens a national-capacity turn (label
  `X's country (主席以本国身份发言)`), and `我现在恢复行使…主席的职能` opens a new chair turn.
- Time annotations (`上午11时45分散会。`) and everything before the first header have no speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.corpus import CorpusError
from rag.records import Document, Paragraph, SpeakerInfo
from rag.reflow import char_offsets, sub_paragraph
from rag.sentences import FULL_STOPS, HEADER_CLOSERS

CHAIR = "主席"
CHAIR_AFFILIATION = "安全理事会主席"
HONORIFICS = ("先生", "女士", "夫人", "小姐", "博士", "阁下")
NATIONAL_SUFFIX = " (主席以本国身份发言)"
HEADER_RE = re.compile(
    r"^(?P<who>[^\s，。：:；、（）()“”《》]{1,24}?)\s*"
    r"(?:[（(]\s*(?P<aff>[^（）()]{1,40}?)\s*[）)])?\s*"
    r"(?:[（(]\s*(?P<lang>以[^（）()]{1,12}?发言)\s*[）)])?\s*[：:]"
)
TITLE_RE = re.compile(r"^[\u4e00-\u9fff]{1,8}$")
LANG_RE = re.compile(r"^以\S{1,10}发言$")
SENTENCE_END = re.compile(f"[{FULL_STOPS}]")
ENDS_SENTENCE = re.compile(f"[{FULL_STOPS}][{HEADER_CLOSERS}]*$")
NATIONAL_RE = re.compile(r"^我现在以(?P<who>[^，。；]{1,30}?)的身份发言")
RESUME_RE = re.compile(r"^我现在(?:恢复|重新)[^，。；]{0,20}?主席的?职(?:能|务|责)")
ANNOTATION_RE = re.compile(r"^(?:上午|下午|晚上)?\d{1,2}时(?:\d{1,2}分)?(?:开会|散会|休会|复会|暂停|继续)。?$")
OFFICE_RE = re.compile(r"^(.+?)(?:外交部|外交|国防部|政府)?(?:部长|外长|总统|总理|首相|国务卿|常驻联合国代表|常驻代表|代表|大使)")
LETTER_TITLE_RE = re.compile(r"^(?:\d{4}年\d{1,2}月\d{1,2}日)?(?P<who>.+?)给.+?的信")
SIGNATURE_RE = re.compile(r"^\s*(?P<name>[^\s()（）]{2,20})\s*[（(]签名[）)]\s*$", re.M)


@dataclass(frozen=True)
class Turn:
    index: int  # 0-based position of the turn within the document
    speaker: str  # display label: 戴兵先生（中国）, 主席, 印度 (主席以本国身份发言)
    info: SpeakerInfo
    paragraphs: tuple[Paragraph, ...]  # body paragraphs, header text removed
    header: tuple[int, int] | None  # [start, end) source span of the header; None if opened by an announcement

    @property
    def start(self) -> int:
        return self.header[0] if self.header else self.paragraphs[0].start


@dataclass(frozen=True)
class Header:
    label: str
    info: SpeakerInfo
    end: int  # index in the paragraph text just after the colon


def parse_header(text: str) -> Header | None:
    """The speaker header at the start of `text`, or None (see module docstring for the rules)."""
    m = HEADER_RE.match(text)
    if not m:
        return None
    who, aff, lang = m.group("who"), m.group("aff"), m.group("lang")
    if aff and not lang and LANG_RE.match(aff):
        aff, lang = None, aff
    rest = text[m.end():].strip()
    if rest and not SENTENCE_END.search(rest):
        return None  # a title or a list entry, not speech
    language = lang or "中文"
    hon = next((h for h in HONORIFICS if who.endswith(h) and len(who) > len(h)), None)
    if hon:
        name = who[: -len(hon)]
        label = f"{who}（{aff}）" if aff else who
        return Header(label, SpeakerInfo(name, aff, "member", language, None), m.end())
    if aff or not TITLE_RE.match(who):
        return None
    chair = who == CHAIR
    info = SpeakerInfo(None, CHAIR_AFFILIATION if chair else who, who, language, "president" if chair else None)
    return Header(who, info, m.end())


def country_of(phrase: str) -> str:
    """`印度外交部长` -> `印度`: the phrase up to its office word (the whole phrase if none)."""
    m = OFFICE_RE.match(phrase)
    return m.group(1) if m else phrase


def _split_points(source: str, para: Paragraph) -> list[int]:
    """Indices in para.text where a glued header (at a source line start) or an announcement
    sentence begins after a sentence end."""
    offs = char_offsets(source, para)
    points = []
    text = para.text
    for k in range(1, len(text)):
        if text[k - 1] not in FULL_STOPS + HEADER_CLOSERS or not ENDS_SENTENCE.search(text[:k]):
            continue
        line_start = source.rfind("\n", 0, offs[k]) + 1
        at_line_start = not source[line_start:offs[k]].strip()
        if (at_line_start and parse_header(text[k:])) or NATIONAL_RE.match(text[k:]) or RESUME_RE.match(text[k:]):
            points.append(k)
    return points


def _split_glued(paragraphs: list[Paragraph], source: str) -> list[Paragraph]:
    out = []
    for para in paragraphs:
        cuts = [0, *_split_points(source, para), len(para.text)]
        if len(cuts) == 2:
            out.append(para)
            continue
        offs = char_offsets(source, para)
        for i, j in zip(cuts, cuts[1:]):
            piece = sub_paragraph(source, para, i, j, offs, number=para.number if i == 0 else None)
            if piece:
                out.append(piece)
    return out


@dataclass
class _Open:
    speaker: str
    info: SpeakerInfo
    header: tuple[int, int] | None
    paragraphs: list[Paragraph]


def split_record(paragraphs: list[Paragraph], source: str) -> tuple[list[Turn], list[Paragraph]]:
    """Turns of a meeting record, and the paragraphs outside any turn (agenda block, annotations)."""
    opened: list[_Open] = []
    outside: list[Paragraph] = []
    cur: _Open | None = None
    chair: SpeakerInfo | None = None
    for para in _split_glued(paragraphs, source):
        header = parse_header(para.text)
        if ANNOTATION_RE.match(para.text):
            cur = None
            outside.append(para)
        elif header:
            offs = char_offsets(source, para)
            cur = _Open(header.label, header.info, (para.start, offs[header.end - 1] + 1), [])
            opened.append(cur)
            body = sub_paragraph(source, para, header.end, len(para.text), offs)
            if body:
                cur.paragraphs.append(body)
            if header.info.capacity == "president":
                chair = header.info
        elif cur and cur.info.capacity == "president" and (m := NATIONAL_RE.match(para.text)):
            country = country_of(m.group("who"))
            info = SpeakerInfo(None, country, cur.info.role, cur.info.language, "national")
            cur = _Open(country + NATIONAL_SUFFIX, info, None, [para])
            opened.append(cur)
        elif cur and cur.info.capacity == "national" and chair and RESUME_RE.match(para.text):
            cur = _Open(CHAIR, chair, None, [para])
            opened.append(cur)
        elif cur:
            cur.paragraphs.append(para)
        else:
            outside.append(para)
    return _freeze(opened), outside


def _freeze(opened: list[_Open]) -> list[Turn]:
    turns: list[Turn] = []
    for t in opened:
        info = t.info
        if info.name is None and info.capacity is None and turns and turns[-1].info.capacity == "president":
            info = SpeakerInfo(_invited_name(t.speaker, turns[-1]), *_rest(info))
        turns.append(Turn(len(turns), t.speaker, info, tuple(t.paragraphs), t.header))
    return turns


def _rest(info: SpeakerInfo) -> tuple:
    return info.affiliation, info.role, info.language, info.capacity


def _invited_name(title: str, chair_turn: Turn) -> str | None:
    """A title-only speaker's name from the chair's invitation: `…秘书长安东尼奥·古特雷斯先生…`."""
    if not chair_turn.paragraphs:
        return None
    pattern = re.escape(title) + r"(?P<name>[\u4e00-\u9fff·•\-]{2,15}?)(?:先生|女士|夫人|阁下)"
    m = re.search(pattern, chair_turn.paragraphs[-1].text)
    return m.group("name") if m else None


def split_turns(paragraphs: list[Paragraph], source: str) -> list[Turn]:
    """Speaker turns of a meeting record (`source` is the file text the paragraphs come from)."""
    return split_record(paragraphs, source)[0]


def document_speaker(doc: Document, text: str) -> tuple[str, SpeakerInfo]:
    """The voice of a document without turns (resolution, presidential statement, letter)."""
    if doc.type == "resolution":
        return "安全理事会", SpeakerInfo(None, "安全理事会", "council", None, None)
    if doc.type == "presidential_statement":
        return "安全理事会主席（代表安理会）", SpeakerInfo(None, "安全理事会", CHAIR, None, "president")
    m = LETTER_TITLE_RE.match(doc.title_zh) if doc.type == "letter" else None
    if m:
        who = m.group("who")
        names = [s.group("name") for s in SIGNATURE_RE.finditer(text)]
        return who, SpeakerInfo("、".join(names) or None, country_of(who), "signatory", None, None)
    if doc.author:
        return doc.author, SpeakerInfo(None, doc.author, "author", None, None)
    raise CorpusError(f"{doc.file}: no speaker rule for type {doc.type!r} and no 'author' in the manifest")
