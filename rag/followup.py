"""Chat follow-ups: the last user message, resolved against the earlier ones into one standalone
question plus the filters carried over.

    resolve(["What did Kenya say about social media companies?", "And what did China say about that?"],
            documents, speakers, gazetteer)
    -> Resolution(question="What did China say about social media companies?", ...)

Rules (README "Chat follow-ups"), applied turn by turn so a third message builds on the resolved
second one. Only user messages are read: an assistant's answer never feeds a question, so its
speakers cannot leak into the next one.
- A message is a follow-up when there is an earlier question and it opens or closes like one
  (`And …`, `What about …`, `那…`, `还有…`, `…呢？`), points back with a pronoun (`he`, `they`,
  `that`, `他`, `其`, `这个问题`), or has no topic of its own (`And China?`, `那中方呢？`). Otherwise
  it stands alone and nothing is carried.
- Speakers: the ones it names replace the earlier ones (`And China?` asks about China only); a
  person pronoun (`he`, `他`) takes the earlier speakers; a message naming neither keeps the earlier
  speakers unless it names a document or a kind of document (`what about the resolution?` asks the
  resolution, not the earlier speaker). One speaker stays one speaker: two are asked about only
  when a message names two.
- Documents: a named document replaces the earlier one; otherwise the earlier one is carried
  (into the question and the filters) unless the message names a kind of document.
- Topic: its own when it has one (a topic pronoun such as `that` or `这个问题` is replaced by the
  earlier topic); the earlier one when it has none; none for `what else` / `还说了什么`.
The standalone question is parsed again with rag.query.parse_query: when its speakers are not
exactly the ones intended, the message is asked as written instead (never two speakers' words
under one attribution).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rag.entities import Gazetteer
from rag.errors import InputError
from rag.query import (DOC_TYPE_PATTERNS, DocLookup, QueryIntent, SpeakerRef, find_refs, parse_query,
                       person_matchers)
from rag.records import Document, Filters, SpeakerInfo
from rag.text import nfkc

# General conversational words of English and Chinese; never phrases of a question set.
OPENER_EN = re.compile(r"^\s*(?:and|also|then|so|ok(?:ay)?|now|but)?\s*(?:what|how)\s+about\b|"
                       r"^\s*(?:and|also|then|so|but)\b", re.I)
OPENER_ZH = re.compile(r"^\s*(?:那么|那|还有|另外|而|再问一下|再看)")
CLOSER_ZH = re.compile(r"呢\s*[？?！!。.]*\s*$")
PERSON_PRONOUN_EN = re.compile(r"\b(?:he|she|they|him|her|them|his|hers|their|theirs)\b", re.I)
PERSON_PRONOUN_ZH = re.compile(r"他们|她们|他|她|其(?!他|它|中|余|实)|该国|该代表团|该代表|此人|这位代表")
TOPIC_PRONOUN_EN = re.compile(r"\b(?:(?:about|on|regarding|concerning)\s+)?(?:(?:that|this|the\s+same)\s+(?:issue|topic|"
                              r"subject|question|point|matter)|that|this|it)\b", re.I)
TOPIC_PRONOUN_ZH = re.compile(r"(?:关于|对于|对|就)?(?:这个问题|这一问题|该问题|此问题|同一问题|这方面|这一点|"
                              r"此事|这件事|这个|那个|对此|这些|那些)")
ELSE_EN = re.compile(r"\b(?:else|other|another|more|besides)\b", re.I)
ELSE_ZH = re.compile(r"还(?!有)|别的|其他|其它|另外还")
FILLER_EN = frozenset("""a an the and also too then so ok okay now but what which how did does do was were is are
has have had say said says tell told think thinks thought mention mentioned about on regarding concerning of in
at to for position positions view views stance opinion else other another more besides please""".split())
FILLER_ZH = re.compile(r"说了什么|说了些什么|说什么|怎么说|怎么看|如何看待|怎样看|有何看法|有什么看法|什么看法|"
                       r"表示了什么|讲了什么|谈了什么|提到了什么|有什么立场|什么立场|看法|立场|观点|态度|说了|"
                       r"提出了|谈到了|谈到|提到|发言|呢|吗|的|了|也|又|还|都|请问|关于|对于|对|就|有哪些|哪些|什么|方面|那么|那|"
                       r"和|与|及|在|上|中|里")
TOPIC_AFTER_EN = re.compile(r"\b(?:about|on|regarding|concerning|with\s+respect\s+to)\s+(.+?)\s*[?？.!。]*\s*$", re.I)
PUNCT = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class _Context:
    """What a resolved question is about."""

    question: str  # the standalone question
    lang: str
    speakers: tuple[SpeakerRef, ...]
    doc_ids: tuple[str, ...]
    topic: str | None  # the words the question asks about, None when it asks for everything


@dataclass(frozen=True)
class Resolution:
    question: str  # the standalone question that is asked
    message: str  # the last user message, as written
    follow_up: bool
    carried: tuple[str, ...] = ()  # what came from the history: speaker, document, topic
    speakers: tuple[str, ...] = ()  # canonical names of the question's speakers
    doc_ids: tuple[str, ...] = ()  # documents carried over (they become filters)
    rule: str = "standalone"  # standalone | substitution | template | pronoun | as_written
    notes: tuple[str, ...] = field(default=())

    def filters(self) -> Filters | None:
        return Filters(doc_ids=self.doc_ids) if self.doc_ids else None

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "message": self.message, "follow_up": self.follow_up,
                "carried": list(self.carried), "speakers": list(self.speakers), "doc_ids": list(self.doc_ids),
                "rule": self.rule, "notes": list(self.notes)}


def resolve(messages: Sequence[str], documents: Sequence[Document] | DocLookup,
            speakers: Sequence[SpeakerInfo | str], gazetteer: Gazetteer) -> Resolution:
    """The last of the user `messages` as a standalone question (see the module rules).
    `documents`: the corpus's, or their DocLookup (built once: the service passes the catalog's)."""
    if not messages:
        raise InputError("messages: there is no user message to resolve")
    lookup = documents if isinstance(documents, DocLookup) else DocLookup.of(documents)
    people = person_matchers(speakers, gazetteer)
    parse = lambda text: parse_query(text, lookup, speakers, gazetteer, people)  # noqa: E731
    context: _Context | None = None
    resolution = Resolution(messages[0], messages[0], False)
    for message in messages:
        resolution, context = _resolve_one(message, context, parse)
    return resolution


# "What about X?", "And X?", "那X呢？", "还有X呢？": X is who is asked about, even after a topic cue
ONLY_NAME_EN = re.compile(r"^\s*(?:and|also|then|so|but)?\s*(?:(?:what|how)\s+about\s+)?(.+?)\s*[?？.!]*\s*$", re.I)
ONLY_NAME_ZH = re.compile(r"^\s*(?:那么|那|还有|另外)?(.+?)呢?\s*[？?！!。.]*\s*$")


def _parse_message(message: str, parse) -> QueryIntent:
    """parse_query, plus the speaker of a bare follow-up ("What about the United States?"), which
    the cue grammar reads as a topic: it is asked about as a speaker when the name is all there is."""
    intent = parse(message)
    if intent.speakers:
        return intent
    lang = intent.lang
    m = (ONLY_NAME_ZH if lang == "zh" else ONLY_NAME_EN).match(nfkc(message))
    if not m:
        return intent
    name = m.group(1)
    probe = parse(f"{name}说了什么？" if lang == "zh" else f"What did {name} say?")
    if not probe.speakers or _own_topic(f"{name}说了什么？" if lang == "zh" else f"What did {name} say?",
                                        probe, lang) is not None:
        return intent
    return replace(intent, speakers=probe.speakers, non_speakers=())


def _resolve_one(message: str, prev: _Context | None, parse) -> tuple[Resolution, _Context]:
    intent = _parse_message(message, parse)
    text = nfkc(message).strip()
    lang = intent.lang
    topic = _own_topic(text, intent, lang)
    person = _has(PERSON_PRONOUN_ZH if lang == "zh" else PERSON_PRONOUN_EN, _without_names(text, intent))
    topic_ref = _has(TOPIC_PRONOUN_ZH if lang == "zh" else TOPIC_PRONOUN_EN, _without_names(text, intent))
    opener = bool((OPENER_ZH.search(text) or CLOSER_ZH.search(text)) if lang == "zh" else OPENER_EN.search(text))
    standalone = _Context(message, lang, intent.speakers, intent.doc_ids, topic)
    if prev is None or not (opener or person or topic_ref or topic is None):
        return Resolution(message, message, False, speakers=intent.speaker_names), standalone

    names_doc = bool(intent.doc_ids or intent.doc_types)
    carried: list[str] = []
    refs = intent.speakers
    if not refs and (person or (not names_doc and (opener or topic is None))):
        refs = prev.speakers
        carried += ["speaker"] if refs else []
    doc_ids = intent.doc_ids
    if not doc_ids and not intent.doc_types and prev.doc_ids:
        doc_ids = prev.doc_ids
        carried.append("document")
    asks_else = _has(ELSE_ZH if lang == "zh" else ELSE_EN, text)
    if topic is not None and topic_ref and prev.topic:
        topic = _replace_topic_ref(topic, prev.topic, lang)
        carried.append("topic")
    elif topic is None and not asks_else and prev.topic:
        topic = prev.topic
        carried.append("topic")

    question, rule = _build(message.strip(), text, intent, prev, refs, topic, lang, person, asks_else)
    check = parse(question)
    missing_docs = [d for d in doc_ids if d not in check.doc_ids]
    if missing_docs:
        question = _with_docs(question, missing_docs, lang)
        check = parse(question)
    wanted = {r.canonical for r in refs}
    if {r.canonical for r in check.speakers} != wanted:  # never another speaker's words under this one
        note = (f"the resolved question {question!r} named speakers {sorted(r.canonical for r in check.speakers)}, "
                f"not {sorted(wanted)}: asked as written")
        return (Resolution(message, message, True, (), intent.speaker_names, (), "as_written", (note,)), standalone)
    context = _Context(question, lang, check.speakers, doc_ids, topic)  # surfaces as the question writes them
    return (Resolution(question, message, True, tuple(carried), tuple(r.canonical for r in refs),
                       doc_ids if "document" in carried else (), rule), context)


def _has(pattern: re.Pattern[str], text: str) -> bool:
    return bool(pattern.search(text))


def _without_names(text: str, intent: QueryIntent) -> str:
    """The text with the speakers' names and the document references blanked (so 其 in a name or
    'it' in a symbol never counts as a pronoun)."""
    for ref in reversed(find_refs(text)):
        text = text[:ref.start] + " " + text[ref.end:]
    for s in intent.speakers:
        if s.surface:
            text = text.replace(s.surface, " ")
    return text


def _own_topic(text: str, intent: QueryIntent, lang: str) -> str | None:
    """What the message asks about beyond names, pronouns and conversational words; None when
    nothing is left (`And China?`, `那中方呢？`, `他还说了什么？`)."""
    rest = _without_names(text, intent)
    for _, pattern in DOC_TYPE_PATTERNS:
        rest = pattern.sub(" ", rest)
    if lang == "zh":
        rest = TOPIC_PRONOUN_ZH.sub(" ", PERSON_PRONOUN_ZH.sub(" ", rest))
        content = PUNCT.sub("", FILLER_ZH.sub(" ", rest))
        if len(content) < 2:
            return None
        m = re.search(r"(?:关于|对于|对|就)(.+?)(?:说了|提出|表示|怎么|如何|有何|有什么|的看法|的立场|呢|[？?。!！]|$)", rest)
        topic = m.group(1) if m else content
        return PUNCT.sub("", topic) or content
    words = [w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9'/.-]*", TOPIC_PRONOUN_EN.sub(" ", PERSON_PRONOUN_EN.sub(" ", rest)))
             if w.casefold() not in FILLER_EN]
    if not words:
        return None
    m = TOPIC_AFTER_EN.search(text)
    if m and not TOPIC_PRONOUN_EN.fullmatch(m.group(1).strip()):
        return m.group(1)
    return " ".join(words)


def _replace_topic_ref(topic: str, prev_topic: str, lang: str) -> str:
    pattern = TOPIC_PRONOUN_ZH if lang == "zh" else TOPIC_PRONOUN_EN
    return pattern.sub(prev_topic, topic, count=1) if pattern.search(topic) else topic


def _name(ref: SpeakerRef, lang: str) -> str:
    if lang == "zh":
        return ref.canonical
    if ref.kind in ("office", "organ", "role") and not ref.en.lower().startswith("the "):
        return f"the {ref.en}"
    return ref.en


def _names(refs: Sequence[SpeakerRef], lang: str) -> str:
    names = [_name(r, lang) for r in refs]
    if lang == "zh":
        return "和".join(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _build(written, text, intent, prev, refs, topic, lang, person, asks_else) -> tuple[str, str]:
    """The standalone question: the message with its pronouns replaced when it has a topic and a
    speaker (or no speaker) of its own; else the earlier question with its one speaker swapped;
    else a plain template. Carried documents are added by the caller."""
    own = topic is not None and topic == _own_topic(text, intent, lang) and not asks_else
    if own and (person or intent.speakers or not refs):
        question = _strip_opener(written, lang)
        if person and refs and not intent.speakers:
            pattern = PERSON_PRONOUN_ZH if lang == "zh" else PERSON_PRONOUN_EN
            question = pattern.sub(lambda m: _possessive(m.group(), _names(refs, lang), lang), question)
        return question, "pronoun"
    swapped = _swap_speaker(prev, refs, intent, topic, asks_else)
    if swapped:
        return swapped, "substitution"
    subject = _names(refs, lang) if refs else _doc_phrase(text, intent, lang)
    if lang == "zh":
        question = (f"{subject}还说了什么？" if asks_else else
                    f"{subject}关于{topic}说了什么？" if topic else f"{subject}说了什么？")
        if not subject:
            question = f"关于{topic}说了什么？" if topic else _strip_opener(text, lang)
    else:
        question = (f"What else did {subject} say?" if asks_else else
                    f"What did {subject} say about {topic}?" if topic else f"What did {subject} say?")
        if not subject:
            question = f"What was said about {topic}?" if topic else _strip_opener(text, lang)
    return question, "template"


def _swap_speaker(prev: _Context, refs, intent: QueryIntent, topic, asks_else) -> str | None:
    """The earlier question with its single named speaker replaced by the new ones, when the new
    message only changes who is asked about."""
    if asks_else or not intent.speakers or topic != prev.topic or len(prev.speakers) != 1:
        return None
    old = prev.speakers[0]
    if not old.surface or old.surface not in prev.question:
        return None
    return prev.question.replace(old.surface, _names(refs, prev.lang), 1)


def _possessive(pronoun: str, names: str, lang: str) -> str:
    if lang == "en" and pronoun.lower() in ("his", "her", "their", "hers", "theirs"):
        return f"{names}'s"
    return names


def _strip_opener(text: str, lang: str) -> str:
    stripped = (OPENER_ZH if lang == "zh" else OPENER_EN).sub("", text, count=1).strip(" ,，、")
    if lang == "en" and stripped:
        stripped = stripped[0].upper() + stripped[1:]
    return stripped or text


def _doc_phrase(text: str, intent: QueryIntent, lang: str) -> str:
    """How the message names its document: the symbol, else its words for the kind (the resolution, 决议)."""
    for ref in find_refs(text):
        return text[ref.start:ref.end]
    for _, pattern in DOC_TYPE_PATTERNS:
        m = pattern.search(text)
        if m:
            words = m.group()
            return words if lang == "zh" or words.lower().startswith("the ") else f"the {words}"
    return ""


def _with_docs(question: str, doc_ids: Sequence[str], lang: str) -> str:
    if not doc_ids:
        return question
    names = "、".join(doc_ids) if lang == "zh" else " and ".join(doc_ids)
    if lang == "zh":
        return f"在{names}中，{question}"
    return re.sub(r"\s*([?.!])?\s*$", lambda m: f" in {names}{m.group(1) or '?'}", question, count=1)
