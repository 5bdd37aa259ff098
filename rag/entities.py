"""Named entities of the UN record: member and observer states, organs, offices and roles.

Data, not literals: rag/data/member_states.tsv (zh_short, en_short, aliases, zh_record, demonyms),
rag/data/organs.tsv (zh, en, aliases, kind) and the UN terms of rag/data/un_terms.txt, whose
mission names shadow the country names inside them. `name_spans` + `longest_spans` find the names in
a text; `speaker_matches` compares a corpus speaker with a name through the tables. Which of the
names in a question are its speakers is the cue grammar of rag/mentions.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.lexical import DATA, TERMS_FILE, has_cjk, read_terms
from rag.records import SpeakerInfo
from rag.text import nfkc

STATES_FILE = DATA / "member_states.tsv"
ORGANS_FILE = DATA / "organs.tsv"


# ---------------------------------------------------------------- entity tables

@dataclass(frozen=True)
class Entity:
    canonical: str  # the name the Chinese records use: 中国, 美利坚合众国, 联合王国, 秘书长
    zh_short: str
    en: str
    kind: str  # state | observer | organ | role | office | organization | person
    aliases: tuple[str, ...] = ()
    demonyms: tuple[str, ...] = ()  # English adjectives; count only before a delegation noun

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.canonical, self.zh_short, self.en, *self.aliases)))

    @property
    def member_state(self) -> bool:
        """A row of member_states.tsv: a member or an observer state."""
        return self.kind in ("state", "observer")

    def zh_names(self) -> tuple[str, ...]:
        """The non-ASCII names, short form first: the Chinese ones (and Latin names with
        diacritics such as Côte d'Ivoire, which no Chinese text holds)."""
        return tuple(n for n in dict.fromkeys((self.zh_short, *self.names())) if not n.isascii())

    def en_name(self) -> str:
        """English name for an answer frame: a state's short name; 'The ' + the name of a body or
        role (The Secretary-General, The President)."""
        return self.en if self.member_state else f"The {self.en}"


def _split(cell: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in cell.split(";") if a.strip())


def _rows(path: Path, columns: int) -> Iterable[tuple[int, list[str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines[1:], 2):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != columns or not cells[0].strip() or not cells[1].strip():
            raise ValueError(f"{path}:{n}: expected {columns} tab-separated cells with a Chinese and "
                             f"an English name, got {len(cells)}: {line!r}")
        yield n, [c.strip() for c in cells]


@functools.lru_cache(maxsize=4)
def load_entities(states: Path = STATES_FILE, organs: Path = ORGANS_FILE, terms: Path = TERMS_FILE) -> Gazetteer:
    """Member and observer states (zh_short, en_short, aliases, zh_record, demonyms) and UN
    organs/offices/roles (zh, en, aliases, kind); the UN terms (mission names) shadow the names
    inside them. Cached: the tables are immutable data."""
    out = []
    observers = {"Holy See", "State of Palestine"}
    for _, (zh, en, aliases, record, demonyms) in _rows(states, 5):
        kind = "observer" if en in observers else "state"
        out.append(Entity(record or zh, zh, en, kind, _split(aliases), _split(demonyms)))
    for _, (zh, en, aliases, kind) in _rows(organs, 4):
        out.append(Entity(zh, zh, en, kind, _split(aliases)))
    return Gazetteer(out, read_terms(terms))


class Gazetteer:
    """The entities and, for any of their names, every other name of the same entity."""

    def __init__(self, entities: Iterable[Entity], terms: Iterable[str] = ()) -> None:
        self.entities = tuple(entities)
        self.matchers = tuple(m for e in self.entities for m in entity_matchers(e))
        self._index: dict[str, frozenset[str]] = {}
        self._canon: dict[str, frozenset[str]] = {}
        for ent in self.entities:
            names = frozenset(nfkc(n).casefold() for n in ent.names())
            for n in names:
                self._index[n] = self._index.get(n, frozenset()) | names
                self._canon[n] = self._canon.get(n, frozenset()) | {ent.canonical}
        self._keys: dict[str, frozenset[str]] = {}  # memo of keys(); the tables never change
        self._by_zh: dict[str, Entity] = {}  # exact non-ASCII name -> first entity holding it
        for ent in self.entities:
            for n in ent.zh_names():
                self._by_zh.setdefault(n, ent)
        cjk_names = [n for n in self._index if has_cjk(n)]
        # terms that hold a name without being one (马里稳定团, 发展中国家) block it: no speaker there
        self.blockers: tuple[Matcher, ...] = tuple(
            (_pattern(t), None) for t in dict.fromkeys(terms)
            if t.casefold() not in self._index and any(n in t for n in cjk_names))

    def __iter__(self):
        return iter(self.entities)

    def __len__(self) -> int:
        return len(self.entities)

    def aliases(self, name: str) -> frozenset[str]:
        """Casefolded names equivalent to `name` (itself included)."""
        key = nfkc(name).strip().casefold()
        return self._index.get(key, frozenset()) | {key}

    def en_name(self, zh: str) -> str | None:
        """English name (see Entity.en_name) of a Chinese state or body name as written: short
        form, record form or alias ('肯尼亚' -> 'Kenya', '古特雷斯' -> 'The Secretary-General')."""
        ent = self._by_zh.get(zh)
        return ent.en_name() if ent else None

    def entity(self, zh: str) -> Entity | None:
        """The entity a Chinese name as written names (short form, record form or alias)."""
        return self._by_zh.get(zh)

    def zh_names(self, zh: str) -> tuple[str, ...]:
        """All Chinese names of the entity named `zh` as written ('联合王国' -> 英国, 联合王国, ...); ()
        for a name no table holds."""
        ent = self._by_zh.get(zh)
        return ent.zh_names() if ent else ()

    def state_names(self) -> list[tuple[str, tuple[str, ...]]]:
        """(name, that state's Chinese names) for every name of every member and observer state,
        demonyms excluded; longest name first, table order within a length."""
        pairs = [(n, e.zh_names()) for e in self.entities if e.member_state
                 for n in dict.fromkeys((e.zh_short, *e.names()))]
        return sorted(pairs, key=lambda p: -len(p[0]))

    def keys(self, name: str) -> frozenset[str]:
        """What a name stands for: the canonical names of the entity it is ('UK' -> 联合王国), else
        of the entities named inside it ('澳大利亚和乌拉圭常驻联合国代表' -> 澳大利亚, 乌拉圭), plus
        the name itself (casefolded) for names no table knows (戴兵)."""
        key = nfkc(name).strip().casefold()
        if key not in self._keys:
            found = self._canon.get(key)
            if found is None:
                spans = longest_spans(name_spans(nfkc(name).strip(), [*self.matchers, *self.blockers]))
                found = frozenset(s.entity.canonical for s in spans if s.entity is not None)
            self._keys[key] = found | {key}
        return self._keys[key]


# ---------------------------------------------------------------- speakers

# Text spans that contain an entity name but name no speaker. Longest match wins, so these
# shadow the shorter names inside them (中国 in 发展中国家, 印度 in 印度洋, 主席 in 主席声明).
NOT_SPEAKERS_ZH = ("联合国", "发展中国家", "中国家", "印度洋", "主席声明", "北美", "南美", "欧美", "拉美",
                   "中美洲")
NOT_SPEAKERS_RE = (
    # a UN mission's short name holds its host state's (马里稳定团, 南苏丹特派团, 联海稳定团): the
    # mission, not the state, and no speaker
    re.compile(r"[\u4e00-\u9fff]{1,4}(?:稳定团|特派团|援助团|观察团|支助团|综合办事处)"),
    # the Council as the setting, not the speaker: 安理会会议, 安理会第8838次会议, Council meeting
    # (a routed symbol such as 第8838次会议 is blanked to "#" before names are looked up)
    re.compile(r"(?:安理会|安全理事会)\s*(?:第\s*\d+\s*次|#+)?\s*(?:会议|辩论|公开辩论|高级别公开辩论)?"
               r"(?<=[议论#])"),
    re.compile(r"\b(?:the\s+)?(?:Security\s+)?Council(?:'s)?\s+(?:meeting|debate|open debate)s?\b", re.I),
    re.compile(r"\bstatement\s+by\s+the\s+President(?:\s+of\s+the\s+(?:Security\s+)?Council)?\b", re.I),
    re.compile(r"\bPresidential\s+statement\b", re.I),
    re.compile(r"\bUnited\s+Nations\b", re.I),
    # mission names hold country names: 联合国马里多层面综合稳定团, Mission in the Central African Republic
    re.compile(r"联合国[^\s，。？、的]{1,14}?(?:稳定团|特派团|观察团|援助团|支助团|临时部队|观察员部队|混合行动|"
               r"综合办事处|维持和平部队|维和部队)"),
    re.compile(r"\b(?:Mission|Force|Office|Operation|Observer\s+Force)s?\s+(?:in|for)\s+(?:the\s+)?"
               r"[A-Z][\w'-]*(?:\s+(?:of\s+the\s+|and\s+)?[A-Z][\w'-]*)*"),
    re.compile(r"\bin\s+(?:Chinese|English|French|Russian|Spanish|Arabic)\b", re.I),
)
DELEGATION_NOUNS = (r"delegations?|delegates?|representatives?|ambassadors?|government|side|"
                    r"minister|foreign\s+minister|envoy|statement|position|view|proposals?")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: Entity | None  # None: a blocker (holds a name but names no entity)


Matcher = tuple[re.Pattern[str], "Entity | None"]


def _pattern(name: str) -> re.Pattern[str]:
    """Chinese names match as substrings; Latin names on word boundaries, case-insensitively
    except acronyms (US, UK, EU: 'us' is a pronoun)."""
    name = nfkc(name)
    if has_cjk(name):
        return re.compile(re.escape(name))
    acronym = name.replace(".", "").isupper() and len(name) <= 5
    return re.compile(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", 0 if acronym else re.I)


def entity_matchers(ent: Entity) -> list[Matcher]:
    out: list[Matcher] = [(_pattern(n), ent) for n in ent.names()]
    out += [(re.compile(rf"(?<![A-Za-z]){re.escape(d)}\s+(?:{DELEGATION_NOUNS})\b", re.I), ent)
            for d in ent.demonyms]
    return out


BLOCKERS: tuple[Matcher, ...] = (*((_pattern(w), None) for w in NOT_SPEAKERS_ZH),
                                 *((p, None) for p in NOT_SPEAKERS_RE))


def name_spans(text: str, matchers: Iterable[Matcher]) -> list[Span]:
    """Every candidate name span of the text, blockers included."""
    return [Span(m.start(), m.end(), ent) for pat, ent in (*matchers, *BLOCKERS)
            for m in pat.finditer(text)]


def longest_spans(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, longest first; at equal length a blocker wins over a name."""
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), s.entity is not None, s.start)):
        if all(s.end <= c.start or s.start >= c.end for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def label_parts(label: str) -> list[str]:
    """'戴兵先生（中国）' -> ['戴兵', '中国']; '印度 (主席以本国身份发言)' -> ['印度']; '主席(以英语发言)' -> ['主席']."""
    label = nfkc(label)
    parts = [p for p in re.findall(r"\(([^()]*)\)", label) if "发言" not in p]
    head = re.sub(r"\([^()]*\)", "", label).strip()
    head = re.sub(r"(?:先生|女士|阁下|夫人|博士)$", "", head).strip()
    return [p.strip() for p in [head, *parts] if p.strip()]


def _speaker_names(speaker: SpeakerInfo | str) -> list[str]:
    """The names a corpus speaker answers to. A role counts unless the turn is in national
    capacity ('印度 (主席以本国身份发言)' is India, not the President). Several signatories'
    names ('加里·昆兰、何塞·路易斯·坎塞拉') count one by one."""
    if isinstance(speaker, SpeakerInfo):
        role = speaker.role if speaker.capacity != "national" else None
        names = [speaker.affiliation, role, *person_names(speaker.name or "")]
        return [nfkc(s).strip() for s in names if s]
    return label_parts(speaker)


def person_names(name: str) -> list[str]:
    """'加里·昆兰、何塞·路易斯·坎塞拉' -> each full name and its surname (昆兰, 坎塞拉) when that has
    at least two characters."""
    out = []
    for full in re.split(r"[、,，]|和", name):
        full = full.strip()
        if full:
            out.append(full)
            last = re.split(r"[·•・\-]", full)[-1].strip()
            if last != full and len(last) >= 2:
                out.append(last)
    return out


def speaker_matches(speaker: SpeakerInfo | str, canonical: str, gazetteer: Gazetteer | None = None) -> bool:
    """Does this corpus speaker (a SpeakerInfo or a label such as '戴兵先生（中国）') match the
    name? Names compare through the entity tables both ways (英国 ~ 联合王国 ~ UK ~ 大不列颠及北爱尔兰联合王国);
    a compound affiliation matches each entity in it ('澳大利亚和乌拉圭' matches 乌拉圭)."""
    gaz = gazetteer or load_entities()
    wanted = gaz.keys(canonical)
    return any(wanted & gaz.keys(name) for name in _speaker_names(speaker))
