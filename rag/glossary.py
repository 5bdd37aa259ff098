"""English -> Chinese UN terminology: the Chinese terms of an English question, for BM25.

Data, not literals: rag/data/glossary_en_zh.tsv, a header `en<TAB>zh` and one concept a line.
`en` lists lowercase English variants separated by ';' (`peacekeeper;blue helmet`), `zh` the
official Chinese renderings separated by ';' (`维和人员;维持和平人员;蓝盔`). Lines starting with '#'
and blank lines are ignored; any other malformed line is an error naming the file and line.

Matching (`Glossary.terms`, `Glossary.matches`):
- case-insensitive, on the NFKC form of the question (curly apostrophes made straight);
- whole words only: a term never starts or ends next to a letter or digit (`ied` is not in `iedx`);
- spaces, hyphens, commas and slashes between the words of a term are interchangeable
  (`capacity-building` = `capacity building`, `women, peace and security`);
- longest match first: at each position the longest term wins (`social media` before `media`),
  and matches do not overlap;
- inflection, kept simple: the last word of every variant also matches with `-s`, `-es`, and
  `-y` -> `-ies` (`country` -> `countries`, `drone` -> `drones`). Irregular forms and `-ed`/`-ing`
  forms are listed as variants in the table (`woman;women`, `deploy;deployed;deploying`).
  A listed variant always beats a generated plural of another row.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from rag.lexical import DATA, has_cjk
from rag.text import nfkc

GLOSSARY_FILE = DATA / "glossary_en_zh.tsv"

_SEP_RE = re.compile(r"[\s\-\u2010-\u2015,/]+")  # between the words of a term
_SEP = r"[\s\-\u2010-\u2015,/]+"
_EDGE_L = r"(?<![a-z0-9])"
_EDGE_R = r"(?![a-z0-9])"


def normalize(text: str) -> str:
    """NFKC, straight apostrophes, lowercase: the form both table and question are matched in."""
    return nfkc(text).replace("\u2019", "'").replace("\u2018", "'").lower()


def key(surface: str) -> str:
    """A term's words joined by one space: 'Capacity-Building' -> 'capacity building'."""
    return " ".join(w for w in _SEP_RE.split(normalize(surface)) if w)


def plurals(variant_key: str) -> list[str]:
    """The generated inflections of a key's last word: -s, -es, -y -> -ies (letters only)."""
    head, _, last = variant_key.rpartition(" ")
    if not last.isalpha():
        return []
    forms = [last + "s", last + "es"]
    if last.endswith("y") and len(last) > 2:
        forms.append(last[:-1] + "ies")
    return [f"{head} {f}" if head else f for f in forms]


def verb_forms(variant_key: str) -> list[str]:
    """Generated -ed/-ing forms of a key's last word: chair -> chaired, chairing; provide ->
    provided, providing; submit -> submitted, submitting (a short final consonant doubled);
    fund -> funded. Letters only; a listed variant or an earlier row wins over these."""
    head, _, last = variant_key.rpartition(" ")
    if not last.isalpha() or len(last) < 3:
        return []
    if last.endswith("e"):
        forms = [last + "d", last[:-1] + "ing"]
    elif last.endswith("y") and last[-2] not in "aeiou":
        forms = [last[:-1] + "ied", last + "ing"]
    else:
        forms = [last + "ed", last + "ing"]
        if re.fullmatch(r"(?:[^aeiou]*[aeiou]|[^aeiou]*[aeiou][^aeiou]+[aeiou])[^aeiouwxy]", last):
            forms += [last + last[-1] + "ed", last + last[-1] + "ing"]
    return [f"{head} {f}" if head else f for f in forms]


def _split(cell: str) -> list[str]:
    return [v.strip() for v in cell.split(";") if v.strip()]


def read_glossary(path: Path) -> list[tuple[int, list[str], list[str]]]:
    """(line number, English variants, Chinese renderings) per row; ValueError names the line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["en", "zh"]:
        raise ValueError(f"{path}:1: expected the header 'en<TAB>zh'")
    rows = []
    for n, line in enumerate(lines[1:], 2):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 2:
            raise ValueError(f"{path}:{n}: expected 2 tab-separated cells (en, zh), got {len(cells)}: {line!r}")
        en, zh = _split(cells[0]), _split(cells[1])
        if not en or not zh:
            raise ValueError(f"{path}:{n}: empty {'en' if not en else 'zh'} cell: {line!r}")
        bad_en = [v for v in en if v != v.lower() or has_cjk(v) or not key(v)]
        if bad_en:
            raise ValueError(f"{path}:{n}: en variants must be lowercase English: {bad_en}")
        bad_zh = [t for t in zh if not has_cjk(t)]
        if bad_zh:
            raise ValueError(f"{path}:{n}: zh renderings must contain Chinese characters: {bad_zh}")
        rows.append((n, en, zh))
    return rows


class Glossary:
    """English question -> Chinese UN terms. The table is read and compiled on first use."""

    def __init__(self, path: Path = GLOSSARY_FILE) -> None:
        self.path = Path(path)

    @functools.cached_property
    def _table(self) -> tuple[dict[str, tuple[str, ...]], re.Pattern[str]]:
        listed: dict[str, tuple[int, tuple[str, ...]]] = {}
        for n, en, zh in read_glossary(self.path):
            for variant in en:
                k = key(variant)
                if k in listed:
                    raise ValueError(f"{self.path}:{n}: en variant {variant!r} already listed "
                                     f"on line {listed[k][0]}")
                listed[k] = (n, tuple(zh))
        forms = {k: zh for k, (_, zh) in listed.items()}
        for k, (_, zh) in listed.items():
            for p in plurals(k) + verb_forms(k):
                forms.setdefault(p, zh)  # a listed variant or an earlier row keeps the form
        alternatives = sorted(forms, key=lambda f: (-len(f), f))
        body = "|".join(_SEP.join(re.escape(w) for w in f.split(" ")) for f in alternatives)
        return forms, re.compile(f"{_EDGE_L}(?:{body}){_EDGE_R}")

    def __len__(self) -> int:
        """The number of table rows (concepts)."""
        return len(read_glossary(self.path))

    def matches(self, question: str) -> list[tuple[str, list[str]]]:
        """(English surface as matched in the normalized question, its Chinese terms), in order."""
        forms, pattern = self._table
        return [(m.group(0), list(forms[key(m.group(0))])) for m in pattern.finditer(normalize(question))]

    def terms(self, question: str) -> list[str]:
        """The Chinese renderings of the English terms of the question, de-duplicated, in order."""
        out: dict[str, None] = {}
        for _, zh in self.matches(question):
            out.update(dict.fromkeys(zh))
        return list(out)
