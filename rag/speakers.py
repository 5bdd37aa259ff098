"""Speaker turns in verbatim meeting records, and the speaker of documents without turns.

Rules (general, see docs/ingestion.md; summary records are rag.summary):

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
- Documents without turns speak by the rule of their kind (rag.kinds): the organ, the President
  on behalf of the organ, or the author read from the title (`…给…的信`, `…的普通照会`,
  `…提交的工作文件`, `…关于…的解释性说明`) or from the manifest's author through the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.errors import CorpusError
from rag.kinds import KINDS, author_zh, organ_zh
from rag.normalize import line_start
from rag.records import Document, Paragraph, SpeakerInfo
from rag.reflow import Offsets
from rag.sentences import FULL_STOPS, HEADER_CLOSERS

CHAIR = "主席"
CHAIR_AFFILIATION = "安全理事会主席"
HONORIFICS = ("先生", "女士", "夫人", "小姐", "博士", "阁下")
NATIONAL_SUFFIX = " (主席以本国身份发言)"
HEADER_RE = re.compile(
    r"(?P<who>[^\s，。：:；、（）()“”《》]{1,24}?)\s*"
    r"(?:[（(]\s*(?P<aff>[^（）()]{1,40}?)\s*[）)])?\s*"
    r"(?:[（(]\s*(?P<lang>以[^（）()]{1,12}?发言)\s*[）)])?\s*[：:]"
)
TITLE_RE = re.compile(r"^[\u4e00-\u9fff]{1,8}$")
LANG_RE = re.compile(r"^以\S{1,10}发言$")
SENTENCE_END = re.compile(f"[{FULL_STOPS}]")
NATIONAL_RE = re.compile(r"我现在以(?P<who>[^，。；]{1,30}?)的身份发言")
RESUME_RE = re.compile(r"我现在(?:恢复|重新)[^，。；]{0,20}?主席的?职(?:能|务|责)")
ANNOTATION_RE = re.compile(
    r"(?:上午|下午|晚上)?\d{1,2}时(?:\d{1,2}分)?(?:宣布)?(?:开会|散会|休会|复会|暂停|继续)(?:会议)?。?")
OFFICE_RE = re.compile(r"^(.+?)(?:外交部|外交|国防部|政府)?(?:部长|外长|总统|总理|首相|国务卿|常驻联合国代表团|"
                       r"常驻联合国代表|常驻代表团|常驻代表|代表团|代表|大使)")
_DATE = r"(?:\d{4}年\d{1,2}月\d{1,2}日)?"
_WHO = r"(?P<who>[^，。；：:]{2,40}?)"
TITLE_AUTHOR_RES = (  # who wrote a document, from its Chinese title (general UN title forms)
    re.compile(_DATE + _WHO + r"给.{1,60}?的(?:信|普通照会|照会|函)"),
    re.compile(_DATE + _WHO + r"(?:提交|提出|编写|分发)的(?:工作文件|立场文件|文件|报告|说明|提案|声明)"),
    re.compile(_DATE + _WHO + r"关于.{1,200}?的(?:解释性说明|说明|工作文件|立场文件|报告|声明|意见)"),
    re.compile(_DATE + _WHO + r"的(?:报告|说明|声明)"),
)
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


def parse_header(text: str, pos: int = 0) -> Header | None:
    """The speaker header at text[pos:], or None (see module docstring for the rules)."""
    m = HEADER_RE.match(text, pos)
    if not m:
        return None
    who, aff, lang = m.group("who"), m.group("aff"), m.group("lang")
    if aff and not lang and LANG_RE.match(aff):
        aff, lang = None, aff
    if _NONBLANK.search(text, m.end()) and not SENTENCE_END.search(text, m.end()):
        return None  # a title or a list entry, not speech
    language = lang or "中文"
    hon = next((h for h in HONORIFICS if who.endswith(h) and len(who) > len(h)), None)
    if hon:
        name = who[: -len(hon)]
        label = f"{who}（{aff}）" if aff else who
        return Header(label, SpeakerInfo(name, aff, "member", language, None), m.end() - pos)
    if aff or not TITLE_RE.match(who):
        return None
    chair = who == CHAIR
    info = SpeakerInfo(None, CHAIR_AFFILIATION if chair else who, who, language, "president" if chair else None)
    return Header(who, info, m.end() - pos)


_NONBLANK = re.compile(r"\S")
_STOP_RUN = re.compile(f"[{FULL_STOPS}][{HEADER_CLOSERS}]*")


def country_of(phrase: str) -> str:
    """`印度外交部长` -> `印度`: the phrase up to its office word (the whole phrase if none)."""
    m = OFFICE_RE.match(phrase)
    return m.group(1) if m else phrase


def _split_points(source: str, para: Paragraph, offs: Offsets) -> list[int]:
    """Indices in para.text where a glued header (at a source line start) or an announcement
    sentence begins after a sentence end. Linear: each candidate is tried in place."""
    points = []
    text = para.text
    for run in _STOP_RUN.finditer(text):
        for k in range(run.start() + 1, run.end() + 1):
            if k >= len(text):
                break
            if NATIONAL_RE.match(text, k) or RESUME_RE.match(text, k):
                points.append(k)
            elif parse_header(text, k):
                pos = offs.at(k)
                if not source[line_start(source, pos):pos].strip():
                    points.append(k)
    return points


def _split_glued(paragraphs: list[Paragraph], source: str) -> list[Paragraph]:
    out = []
    for para in paragraphs:
        offs = Offsets(source, para)
        cuts = [0, *_split_points(source, para, offs), len(para.text)]
        if len(cuts) == 2:
            out.append(para)
            continue
        for i, j in zip(cuts, cuts[1:]):
            piece = offs.piece(i, j, number=para.number if i == 0 else None)
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
    """Turns of a verbatim meeting record, and the paragraphs outside any turn (agenda block,
    annotations)."""
    opened: list[_Open] = []
    outside: list[Paragraph] = []
    cur: _Open | None = None
    chair: SpeakerInfo | None = None
    for para in _split_glued(paragraphs, source):
        header = parse_header(para.text)
        if ANNOTATION_RE.fullmatch(para.text):
            cur = None
            outside.append(para)
        elif header:
            offs = Offsets(source, para)
            cur = _Open(header.label, header.info, (para.start, offs.at(header.end - 1) + 1), [])
            opened.append(cur)
            body = offs.piece(header.end, len(para.text))
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


# ---------------------------------------------------------------- documents without turns

def title_author(title_zh: str) -> str | None:
    """The author a Chinese title names: `2023年4月26日乌克兰常驻联合国代表团给秘书长的普通照会` ->
    乌克兰常驻联合国代表团; `第一工作组主席提交的工作文件：…` -> 第一工作组主席; None if no form fits."""
    title = " ".join(title_zh.split())
    for pattern in TITLE_AUTHOR_RES:
        m = pattern.match(title)
        if m and "关于" not in m.group("who"):
            return m.group("who").strip()
    return None


def organ_of(doc: Document) -> str:
    """The Chinese name of the document's organ (the general table); CorpusError if none."""
    zh = organ_zh(doc.organ) or (doc.organ if doc.organ and not doc.organ.isascii() else None)
    if not zh:
        raise CorpusError(f"{doc.file}: field 'organ' {doc.organ!r} of {doc.id} is not in rag/data/organs.tsv: "
                          f"give its Chinese name or add a row (a {doc.type} speaks for its organ)")
    return zh


def document_speaker(doc: Document, text: str) -> tuple[str, SpeakerInfo] | None:
    """The voice of a document without turns, by the rule of its kind (rag.kinds); None for a
    kind that has no speaker (an agenda; `other` without an author)."""
    rule = KINDS.get(doc.type)
    if rule == "organ":
        organ = organ_of(doc)
        return organ, SpeakerInfo(None, organ, "organ", None, None)
    if rule == "president":
        organ = organ_of(doc)
        label = "安全理事会主席（代表安理会）" if organ == "安全理事会" else f"{organ}主席（代表{organ}）"
        return label, SpeakerInfo(None, organ, CHAIR, None, "president")
    if rule in ("author", "author_if_given"):
        who = title_author(doc.title_zh) if rule == "author" else None
        who = who or author_zh(doc.author) or (doc.author.strip() if doc.author and doc.author.strip() else None)
        if who:
            names = [s.group("name") for s in SIGNATURE_RE.finditer(text)]
            role = "signatory" if doc.type == "letter" else "author"
            return who, SpeakerInfo("、".join(names) or None, country_of(who), role, None, None)
        if rule == "author":
            raise CorpusError(f"{doc.file}: no speaker rule for {doc.id} (type {doc.type!r}): its title_zh names "
                              f"no author (…给…的信, …提交的工作文件, …关于…的说明) and 'author' is not given")
        return None
    if rule == "none":
        return None
    raise CorpusError(f"{doc.file}: no speaker rule for type {doc.type!r}")
