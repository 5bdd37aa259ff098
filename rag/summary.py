"""Speaker turns of summary records: indirect speech (`X先生(国家)说，…`).

A paragraph (after an optional number `2. `) opens a turn when it starts with a speaker and a
reporting clause:

- a person: `[ROLE]NAME HONORIFIC[(BRACKET)]`, NAME Chinese or Latin with spaces and accents
  (`Pedroso Cuesta`, `de la Fuente Ramírez`), ROLE an optional title before the name (`副主席`), followed by a clause
  that ends in a reporting verb and a comma or colon: `说，`, `回顾说，`, `代表特别报告员发言说，`,
  `通过视频链接发言，`;
- a bare title (`主席`, `副主席`, `报告员`, `秘书长`, …) followed at once (at most a few characters)
  by a reporting verb: `主席说，`, `主席回顾说，`; the chair also by `请` (`主席请各国政府…`).

speaker_info: name (`Mansour`), affiliation (the bracket: a state, or the state of an observer
`巴勒斯坦国观察员` -> 巴勒斯坦国, or a mandate as written), role (`member`, `observer`, `chair`,
`vice-chair`, `vice-chair, for the rapporteur`, `former special rapporteur`, …). The chair is
named by the front matter (`主席：尼昂先生 (塞内加尔)`); the label is `主席` and the affiliation
`<body>主席`.

A turn lasts until the next speaker, a heading, or a procedural line of the record itself
(`上午11时35分散会。`, `报告草稿获得通过。`, `就这样决定。`), which belong to no turn. The speaker's
words stay in the text (there is no header to cut out: the designation is part of the sentence).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.records import Paragraph, SpeakerInfo
from rag.reflow import NUMBER_RE
from rag.speakers import ANNOTATION_RE, Turn

TITLES = ("副主席", "代理主席", "主席", "特别报告员", "报告员", "委员会秘书", "秘书长", "副秘书长", "秘书",
          "高级专员", "执行主任", "法律顾问")
TITLE_ROLES = {"主席": "chair", "代理主席": "acting chair", "副主席": "vice-chair", "报告员": "rapporteur",
               "特别报告员": "special rapporteur", "秘书": "secretary", "委员会秘书": "secretary"}
CHAIRS = ("主席", "代理主席")
_TITLE = "|".join(sorted(TITLES, key=len, reverse=True))
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"  # ASCII and accented Latin letters
_NAME = rf"(?P<name>[{_LATIN}][{_LATIN}'’.\-]*(?:\s+[{_LATIN}][{_LATIN}'’.\-]*){{0,5}}|[\u4e00-\u9fff·•\-]{{1,15}}?)"
_VERB = r"(?:说|发言|指出|表示|强调|回顾说|宣布|答复|回答|问|询问|提问|介绍说|补充说|解释说)道?"
PERSON_RE = re.compile(
    rf"(?P<pre>{_TITLE})?{_NAME}\s*(?P<hon>先生|女士|夫人|阁下|博士)\s*"
    r"(?:[（(]\s*(?P<aff>[^（）()]{1,60}?)\s*[）)])?\s*"
    rf"(?P<clause>[^，。：；:,]{{0,30}}?){_VERB}[，：,:]")
TITLE_SPEAKER_RE = re.compile(rf"(?P<title>{_TITLE})(?!团)(?:(?P<clause>[\u4e00-\u9fff]{{0,4}}?){_VERB}[，：,:]|(?P<ask>请))")
FRONT_CHAIR_RE = re.compile(
    r"(?P<title>代理主席|主席)\s*[：:]\s*(?P<name>[^\s（()：:]{1,30}?)\s*(?P<hon>先生|女士|夫人)\s*"
    r"(?:[（(]\s*(?P<aff>[^（）()]{1,40}?)\s*[）)])?\s*$")
PROCEDURAL_RE = re.compile(
    r"(?:\d{1,3}\.\s*)?(?:[^，。；：]{1,20}?(?:获得?|予以)?通过|[^，。；：]{1,20}?(?:未获通过|被否决)|就这样决定"
    r"|会议(?:暂停|复会|继续进行)[^，。]{0,10}|[^，。；：]{0,20}?宣布(?:开会|散会|休会|复会))。")
FOR_RE = re.compile(r"代表(?P<for>[^，。]{1,20}?)(?:发言|说)")


@dataclass(frozen=True)
class Opener:
    label: str
    info: SpeakerInfo


def _body(text: str) -> int:
    """Index after a leading paragraph number."""
    m = NUMBER_RE.match(text)
    return m.end() if m else 0


def procedural(text: str) -> bool:
    """A line of the record itself: a time annotation, an adoption, a decision."""
    t = text.strip()
    return bool(ANNOTATION_RE.fullmatch(t) or PROCEDURAL_RE.fullmatch(t))


def _affiliation(aff: str | None) -> tuple[str | None, str]:
    """(affiliation, base role) from the bracket after a name."""
    if not aff:
        return None, "member"
    aff = " ".join(aff.split())
    if aff.endswith("观察员") and len(aff) > 3:
        return aff[: -len("观察员")], "observer"
    for title, role in (("前特别报告员", "former special rapporteur"), ("特别报告员", "special rapporteur"),
                        ("报告员", "rapporteur")):
        if aff.endswith(title):
            return aff, role
    return aff, "member"


def _role(base: str, clause: str) -> str:
    m = FOR_RE.search(clause)
    if not m:
        return base
    who = m.group("for")
    return f"{base}, for the rapporteur" if who.endswith("报告员") else f"{base}, for {who}"


def opener(text: str, chair: SpeakerInfo | None = None) -> Opener | None:
    """The speaker who opens this paragraph of a summary record, or None (module docstring)."""
    pos = _body(text)
    m = PERSON_RE.match(text, pos)
    if m:
        aff, base = _affiliation(m.group("aff"))
        pre = m.group("pre")
        if pre:
            base = TITLE_ROLES.get(pre, pre)
        name = " ".join(m.group("name").split())
        label = f"{name}{m.group('hon')}" + (f"（{' '.join(m.group('aff').split())}）" if m.group("aff") else "")
        return Opener(label, SpeakerInfo(name, aff, _role(base, text[m.start("clause"):m.end()]), None, None))
    m = TITLE_SPEAKER_RE.match(text, pos)
    if not m or (m.group("ask") and m.group("title") not in CHAIRS):
        return None
    title = m.group("title")
    if title in CHAIRS and chair is not None:
        return Opener(title, chair)
    return Opener(title, SpeakerInfo(None, title, TITLE_ROLES.get(title, title), None,
                                     "president" if title in CHAIRS else None))


def chair_of(front: Sequence[Paragraph], body: str | None) -> SpeakerInfo:
    """The chair named in the front matter (`主席：尼昂先生 (塞内加尔)`), affiliation `<body>主席`."""
    affiliation = f"{body}主席" if body else "主席"
    for para in front:
        m = FRONT_CHAIR_RE.match(" ".join(para.text.split()))
        if m:
            return SpeakerInfo(m.group("name"), affiliation, "chair", None, "president")
    return SpeakerInfo(None, affiliation, "chair", None, "president")


def boundary(text: str) -> str | None:
    """For rag.reflow.group_segments: a speaker opens a paragraph, a procedural line stands alone."""
    if opener(text):
        return "open"
    return "alone" if procedural(text) else None


def split_summary(paragraphs: Sequence[Paragraph], roles: Sequence[str],
                  body: str | None) -> tuple[list[Turn], list[Paragraph]]:
    """Turns of a summary record and the paragraphs outside any turn; `roles` are the
    paragraphs' roles (rag.roles), `body` the Chinese name of the meeting's body."""
    chair = chair_of([p for p, r in zip(paragraphs, roles) if r == "front_matter"], body)
    turns: list[tuple[Opener, list[Paragraph]]] = []
    outside: list[Paragraph] = []
    cur: list[Paragraph] | None = None
    for para, role in zip(paragraphs, roles):
        found = opener(para.text, chair) if role == "body" else None
        if role != "body" or procedural(para.text):
            cur = None
            outside.append(para)
        elif found:
            cur = [para]
            turns.append((found, cur))
        elif cur is not None:
            cur.append(para)
        else:
            outside.append(para)
    return [Turn(i, o.label, o.info, tuple(ps), None) for i, (o, ps) in enumerate(turns)], outside
