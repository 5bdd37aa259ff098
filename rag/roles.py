"""Which paragraphs are headings or front matter rather than body text (pure text rules).

- front matter: the document's masthead and title block, i.e. the run of heading-like paragraphs
  that opens the document (session, agenda item, title, `[根据…的建议通过]`, the meeting line, the
  chair line `主席：尼昂先生 (塞内加尔)`, a table of contents after `目录`), and masthead lines anywhere
  (`联合国`, an organ's name alone, `2023年届会`, `议程项目19 (e)`, a symbol alone: page headers
  that a PDF extraction moved into the text).
- heading: a short paragraph with no sentence inside that does not end in punctuation
  (`通过议程`, `透明度和建立信任措施`, `附件`, `第43次全体会议`), a section marker (`一.`, `II.`), or the
  organ line that opens a resolution's preamble (`经济及社会理事会，`, `The General Assembly,`).
- body: everything else, including heading-like lines that follow a lead-in ending in a colon or
  start with a bullet (list entries such as panel members), and signature blocks (`内里斯·多克里(签名)`,
  a signatory's title alone: `常驻代表`, `尼加拉瓜共和国常驻联合国代表`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.records import Paragraph

HEADING_MAX_WIDTH = 80  # display columns (ASCII half): longer unpunctuated lines are cut body text
TERMINAL = "。！？；，、：:;,!?…"
_CLOSERS = "”’」』）)》〉】]\"'"
_INNER_STOP = re.compile(r"[。！？](?!$)")
_SECTION = re.compile(r"(?:[一二三四五六七八九十]+|[IVXLC]+|[A-Z]|\d{1,2})[.、．]?")
_ORGAN_LINE = re.compile(
    r"[^，。；：,;:\s]{0,40}?(?:理事会|大会|委员会|工作组|会议|运动|集团|组织|缔约国)[，,]"
    r"|(?:The )?[A-Z][A-Za-z ’'\-]{2,80}(?:Council|Assembly|Commission|Committee|Conference|Group|Movement),")
_MASTHEAD = re.compile(
    r"联合国|United Nations|Distr\.?:?.{0,20}|\d{4}年届会|\d{4} session|第[一二三四五六七八九十百]+届会议"
    r"|(?:临时)?议程项目\s*\d+.{0,12}|(?:Provisional )?[Aa]genda item \d+.{0,12}"
    r"|\d{4}年\d{1,2}月\d{1,2}日至(?:\d{4}年)?\d{1,2}月\d{1,2}日"
    r"|[SAE](?:/[A-Z0-9.]+)+(?:\s*\(\d{4}\))?"
    r"|(?:大会|安全理事会|经济及社会理事会|托管理事会|人权理事会|General Assembly|Security Council"
    r"|Economic and Social Council|Human Rights Council)(?:正式记录)?")
SIGNATURE_RE = re.compile(r"[（(]\s*签名\s*[）)]|\(Signed\)", re.I)
# A signatory's title alone on a line closes a letter (`常驻代表`, `尼加拉瓜共和国常驻联合国代表`): the
# signature block, not a heading (the front matter's `…常驻联合国代表给秘书长的信` ends otherwise).
SIGNATORY_TITLE_RE = re.compile(r"[^，。；：,;:]{0,30}(?:常驻(?:联合国)?代表|临时代办|Permanent Representative"
                                r"(?: of [A-Za-z ]{2,40})?(?: to the United Nations)?|Charg[ée] d[’']affaires(?: a\.i\.)?)",
                                re.I)
_BULLET = re.compile(r"[-–—•·*]\s")


def _squash(text: str) -> str:
    return " ".join(text.split())


def _width(s: str) -> float:
    return len(s) - 0.5 * len(s.encode("ascii", "ignore"))


def is_section_marker(text: str) -> bool:
    """`一.`, `二、`, `II.`, `A.` alone on a line."""
    return bool(_SECTION.fullmatch(_squash(text).replace(" ", "")))


def is_organ_line(text: str) -> bool:
    """The organ line that opens a resolution's preamble: `大会，`, `The Economic and Social Council,`."""
    return bool(_ORGAN_LINE.fullmatch(_squash(text)))


def is_masthead(text: str) -> bool:
    """A masthead or page-header line (see module docstring)."""
    s = _squash(text)
    return bool(_MASTHEAD.fullmatch(s) or _MASTHEAD.fullmatch(s.replace(" ", "")))


def is_heading(text: str) -> bool:
    """Heading-like: a section marker, an organ line, or short with no sentence inside and no
    final punctuation (see module docstring)."""
    s = _squash(text)
    if not s or SIGNATURE_RE.search(s) or SIGNATORY_TITLE_RE.fullmatch(s) or _BULLET.match(s):
        return False  # signatures, signatories' titles and bulleted list entries are body
    if is_section_marker(s) or is_organ_line(s):
        return True
    core = s.rstrip(_CLOSERS) or s
    if core[-1] in TERMINAL or s[-1] == "." or _INNER_STOP.search(core) or _width(s) > HEADING_MAX_WIDTH:
        return False
    return bool(re.search(r"\w", s))


def roles(paragraphs: Sequence[Paragraph]) -> list[str]:
    """`front_matter`, `heading` or `body` for each paragraph, in document order."""
    out: list[str] = []
    leading = True  # still in the opening masthead/title block
    after_lead_in = False  # inside a list introduced by a line ending in a colon
    for para in paragraphs:
        text = para.text
        heading = is_heading(text)
        opening = heading and not is_section_marker(text) and not is_organ_line(text)
        if leading and (opening or is_masthead(text)):
            out.append("front_matter")
            continue
        leading = False
        if is_masthead(text):
            role = "front_matter"
        elif heading and not after_lead_in:
            role = "heading"
        else:
            role = "body"
        after_lead_in = text.rstrip().endswith(("：", ":")) or (after_lead_in and heading)
        out.append(role)
    return out
