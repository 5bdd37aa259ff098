"""Which names in a question are its speakers: the cue grammar.

rag.entities finds the names (states, organs, offices, roles, corpus persons); this module decides
the part each plays, from the words right around it:

- speaker: who said or wrote what is asked (`法方对选举提出了哪些看法`, `What did Ghana say`,
  `according to the UK`, `on behalf of the Non-Aligned Movement`, `by Ukraine`);
- addressee: the one asked or written to (`决议请秘书长…`, `给秘书长的信`, `requests the Secretary-General`);
- object: the one a verb acts on (`决议欢迎秘书长呼吁…`, `welcomes the Secretary-General's call`);
- topic: what the question is about (`对巴勒斯坦问题`, `海地局势`, `the question of Palestine`,
  `about Ukraine`);
- setting: where it was said (`在安理会…`, `at the Council`), unless the name's own speech follows
  (`在秘书长的发言中`, `in China's statement`);
- content: named inside what a speaker said (`What did Ghana say about Peru?`, `印度部队`), or
  after a verb of saying whoever said it (`该小组认为大会应该…`: the group is no table entry).

Only speakers become filters (rag.filters); the others are reported in `QueryIntent.non_speakers`.
The cues are general words of the language and of UN documents, never phrases of a question set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.entities import Entity, Matcher, Span, longest_spans, name_spans
from rag.text import nfkc

ROLES = ("speaker", "addressee", "object", "topic", "setting", "content")
_WINDOW = 30  # characters looked at on each side of a name

# The agent named explicitly: according to X, by X, on behalf of X, 据X, 由X.
AGENT_BEFORE = re.compile(r"(?:\baccording\s+to|\bby|\bon\s+behalf\s+of|代表|据|由)\s*(?:the\s+)?$", re.I)
# Verbs of asking: the name after them is the one asked.
ADDRESSEE_ZH = re.compile(r"(?:请|要求|呼吁|敦促|促请|吁请|鼓励|邀请|责成|授权|给|致|向)\s*$")
ADDRESSEE_EN = re.compile(
    r"\b(?:requests?|requested|asks?|asked|calls?\s+(?:up)?on|called\s+(?:up)?on|urges?|urged|"
    r"encourages?|encouraged|invites?|invited|directs?|directed|addressed\s+to|submitted\s+to|"
    r"sent\s+to|letters?\s+to|notes?\s+verbales?\s+to|reports?\s+to|reported\s+to|writes?\s+to|wrote\s+to|"
    r"written\s+to)\s+(?:of\s+)?(?:the\s+)?$",
    re.I)
# Verbs that take the name as their object: 决议欢迎秘书长…, the Council commends the Secretary-General.
OBJECT_ZH = re.compile(r"(?:欢迎|赞赏|感谢|赞扬|称赞|表彰|支持|谴责|回顾|注意到|关切|批评|祝贺|反对|承认|确认|援助|"
                       r"帮助|协助|制裁|指责|提及|选举|任命|会见|会晤|接见|拜会|访问)\s*了?\s*$")
OBJECT_EN = re.compile(
    r"\b(?:welcome[sd]?|commend(?:s|ed)?|thank(?:s|ed)?|support(?:s|ed)?|condemn(?:s|ed)?|recall(?:s|ed)?|"
    r"acknowledge[sd]?|praise[sd]?|congratulate[sd]?|criticiz(?:e|es|ed)|oppose[sd]?|help(?:s|ed)?|"
    r"assist(?:s|ed)?|blame[sd]?|note[sd]?|elect(?:s|ed)?|appoint(?:s|ed)?|meet(?:s)?|met|visit(?:s|ed)?|"
    r"receive[sd]?|host(?:s|ed)?)\s+(?:the\s+)?$", re.I)
# An official named by office and state (`the Minister for Foreign Affairs of X`, `the Permanent
# Representative of X`): the verb before the title decides the state's part, so the title is
# looked through (a letter `from the Permanent Representative of India` is still India's).
OFFICIAL_OF = re.compile(r"\b(?:the\s+)?[A-Z][\w-]*\s+(?:(?:[A-Z][\w-]*|for|and|on)\s+){0,7}(?:of|for)\s+(?:the\s+)?$")
# A delegation named by its representative (`the Observer for X`, `the representative of X`): X
# speaks through them, so `for`/`of` here is no topic cue. Not a UN official's title: `the
# Special Envoy for X` or `the Special Representative for X` speaks about X, not for it.
DELEGATE_OF = re.compile(
    r"(?<!special )(?<!personal )(?<!high )\b(?:permanent\s+)?(?:(?:observers?|delegations?)\s+(?:for|of)|"
    r"(?:representatives?|delegates?|ambassadors?|missions?)\s+of)\s+(?:the\s+)?$", re.I)
# What the question is about: 对/关于/有关/就 X; X问题, X局势; about/regarding/on X; the question of X.
TOPIC_BEFORE = re.compile(
    r"(?:对于|对|关于|有关|就|针对|涉及|\babout|\bregarding|\bconcerning|\btowards?|\bagainst|\bon|\bfor|"
    r"\bquestion\s+of|\bsituation\s+in|\bcrisis\s+in|\bconflict\s+in|\bwar\s+in|\bpeople\s+of|"
    r"\bsupport\s+(?:for|to)|\bassistance\s+to|\baid\s+to|\binvasion\s+of|\boccupation\s+of)\s*(?:the\s+)?$",
    re.I)
TOPIC_AFTER = re.compile(
    r"^\s*(?:的\s*)?(?:问题|局势|局面|形势|危机|冲突|战争|人民|民众|领土|被占领土|境内|难民|人道主义|灾区|选举|和平进程)|"
    r"^(?:'s)?\s+(?:question|situation|crisis|conflict|war|people|territory|territories|refugees|border|"
    r"elections?|peace\s+process)\b", re.I)
# Where it was said: 在安理会…, in/at the Council.
SETTING_ZH = re.compile(r"(?<![现正存实所])在\s*$")
SETTING_EN = re.compile(r"\b(?:in|at|before)\s+(?:the\s+)?$", re.I)
# The name's own speech follows: 秘书长的发言, China's statement: it is a speaker after all.
SPEECH_AFTER = re.compile(r"^\s*(?:的\s*)?(?:发言|讲话|通报|致辞|声明|意见|立场|观点|建议|提议)|^(?:'|’)s?\s+(?:statement|"
                          r"remarks|briefing|speech|intervention|view|position|words|proposals?)", re.I)
# Verbs of saying and asking. After a speaker and one of these, further names are what was said
# ("秘书长说联合国马里…", "What did Kenya say about Brazil?") unless one of these follows them too.
SPEECH_VERB = re.compile(r"说(?!明)|提到|提及|指出|表示|认为|强调|谈到|宣布|引用|请求|希望|\b(?:say|says|said|"
                         r"mention(?:s|ed)?|note(?:s|d)?|state(?:s|d)?|stress(?:es|ed)?|argue(?:s|d)?|"
                         r"believe(?:s|d)?|think(?:s)?|propose(?:s|d)?|suggest(?:s|ed)?|quote(?:s|d)?|"
                         r"cite(?:s|d)?|describe(?:s|d)?|ask(?:s|ed)?|request(?:s|ed)?|want(?:s|ed)?)\b", re.I)
# A state's troops are content, not a speaker: 印度部队, Brazil's troops.
TROOPS_AFTER = re.compile(r"^\s*(?:部队|军队|维和人员|维和部队|士兵|官兵|警察|军人|特遣队)|^(?:'s)?\s+(?:troops|"
                          r"peacekeepers|forces|contingents?|soldiers|police|battalions?)\b", re.I)


def role_of(text: str, span: Span, first_speaker_end: int | None) -> str:
    """The part the name at `span` plays in `text` (one of ROLES; see the module docstring).
    `first_speaker_end`: where the first speaker named before this span ends, if any."""
    before = text[max(0, span.start - _WINDOW):span.start]
    after = text[span.end:span.end + _WINDOW]
    if AGENT_BEFORE.search(before):
        return "speaker"
    acting = OFFICIAL_OF.sub("", text[max(0, span.start - 3 * _WINDOW):span.start])[-_WINDOW:]
    if ADDRESSEE_ZH.search(before) or ADDRESSEE_EN.search(acting):
        return "addressee"
    if OBJECT_ZH.search(before) or OBJECT_EN.search(acting):
        return "object"
    own_speech = bool(SPEECH_AFTER.search(after)) or bool(DELEGATE_OF.search(before))
    if (TOPIC_BEFORE.search(before) or TOPIC_AFTER.search(after)) and not own_speech:
        return "topic"
    if (SETTING_ZH.search(before) or SETTING_EN.search(before)) and not own_speech:
        return "setting"
    if _is_content(text, span, after, first_speaker_end):
        return "content"
    return "speaker"


def _is_content(text: str, span: Span, after: str, first_speaker_end: int | None) -> bool:
    if span.entity is not None and span.entity.member_state and TROOPS_AFTER.search(after):
        return True
    if not SPEECH_VERB.search(text, first_speaker_end or 0, span.start):
        return False
    return not SPEECH_VERB.search(text, span.end)


def mentioned_entities(question: str, matchers: Iterable[Matcher]) -> tuple[list[tuple[Entity, str]], list[Entity]]:
    """(speakers as (entity, surface), other names) in the question, in order of mention. Other
    names: addressees, objects, topics, the setting, the reported content."""
    text = nfkc(question)
    speakers: list[tuple[Entity, str]] = []
    others: list[Entity] = []
    first_end: int | None = None
    for span in longest_spans(name_spans(text, matchers)):
        if span.entity is None:
            continue
        if role_of(text, span, first_end) != "speaker":
            others.append(span.entity)
            continue
        first_end = span.end if first_end is None else first_end
        if span.entity.canonical not in {e.canonical for e, _ in speakers}:
            speakers.append((span.entity, text[span.start:span.end]))
    return speakers, others
