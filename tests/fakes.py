"""FakeQA: a tiny rag.protocols.QA over a few inline chunks, for plumbing tests of the faces only.

Scoring is character-bigram overlap; answers quote the first sentence of the best passages with
[n] markers. It says nothing about retrieval quality and must not be used to test it.
"""

from __future__ import annotations

from typing import Any

from rag.records import Answer, Chunk, Document, Filters, Passage, SearchResult, SpeakerInfo, chunk_id

PV = Document(id="S/PV.8838", symbol="S/PV.8838", type="meeting_record", organ="Security Council",
              date="2021-08-18", title_zh="安全理事会第8838次会议", title_en="Security Council, 8838th meeting",
              author=None, file="pv.txt", meeting=8838)
RES = Document(id="S/RES/2518 (2020)", symbol="S/RES/2518 (2020)", type="resolution",
               organ="Security Council", date="2020-03-30", title_zh="第2518(2020)号决议",
               title_en="Resolution 2518 (2020)", author=None, file="res.txt")

SG = SpeakerInfo(name="古特雷斯", affiliation="秘书长", role="秘书长", language="以英语发言", capacity=None)
CHINA = SpeakerInfo(name="戴兵", affiliation="中国", role="member", language="中文", capacity=None)
INDIA = SpeakerInfo(name=None, affiliation="印度", role="主席", language="以英语发言", capacity="national")

# (doc, speaker label, speaker info, turn, paragraph, text, official English or None)
_ROWS = [
    (PV, "秘书长", SG, 1, "1", "联合国维和数字转型战略侧重于四个目标。第一是提高效率。", None),
    (PV, "戴兵先生（中国）", CHINA, 2, "2", "中方建议维和行动积极运用新技术，提升安全保障能力。新技术应服务于维和任务。", None),
    (PV, "戴兵先生（中国）", CHINA, 2, "3", "中方支持加强维和人员培训，提高应对能力。", None),
    (PV, "印度 (主席以本国身份发言)", INDIA, 3, "4", "第一，我们必须聚焦经验证可操作、成本效益高的技术。", None),
    (RES, None, None, None, "1", "安全理事会强调维和人员的安全和保障至关重要。",
     "The Security Council stresses that the safety and security of peacekeepers is paramount."),
]
WRAP = 12  # the fake source files wrap every 12 characters, as PDF text does


def _sources() -> tuple[dict[str, str], dict[str, str], list[Chunk]]:
    """The fake documents' source files (Chinese and English), laid out like the corpus: a speaker
    header line before each turn, text wrapped at WRAP characters, a blank line between paragraphs;
    the chunks index them."""
    zh: dict[str, str] = {}
    en: dict[str, str] = {}
    chunks = []
    last_turn: dict[str, int | None] = {}
    for doc, speaker, info, turn, paragraph, text, text_en in _ROWS:
        src = zh.get(doc.id, "")
        if speaker and last_turn.get(doc.id) != turn:
            src += f"{speaker}：\n\n"
        last_turn[doc.id] = turn
        start = len(src)
        src += "\n".join(text[i:i + WRAP] for i in range(0, len(text), WRAP))
        end = len(src)
        zh[doc.id] = src + "\n\n"
        en_start = en_end = None
        if text_en:
            en_start = len(en.get(doc.id, ""))
            en[doc.id] = en.get(doc.id, "") + text_en + "\n\n"
            en_end = en_start + len(text_en)
        chunks.append(Chunk(id=chunk_id(doc.id, start, end, text), doc_id=doc.id, symbol=doc.symbol,
                            doc_type=doc.type, speaker=speaker, speaker_info=info, turn=turn, paragraph=paragraph,
                            start=start, end=end, text=text, text_en=text_en, en_start=en_start, en_end=en_end))
    return zh, en, chunks


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _speaks(chunk: Chunk, wanted: tuple[str, ...]) -> bool:
    info = chunk.speaker_info
    names = [chunk.speaker, info.name if info else None, info.affiliation if info else None]
    return any(w in n for w in wanted for n in names if n)


class FakeQA:
    def __init__(self) -> None:
        self.documents = (PV, RES)
        self.sources, self.sources_en, chunks = _sources()
        self.chunks = tuple(chunks)
        self.info: dict[str, Any] = {"index": "fake", "model": "fake-encoder", "chunks": len(self.chunks)}
        self.calls: list[dict[str, Any]] = []
        self._docs = {d.id: d for d in self.documents}

    def chunks_of(self, doc_id: str) -> tuple[Chunk, ...]:
        """rag.protocols.SourceCorpus: the document's chunks in reading order."""
        return tuple(c for c in self.chunks if c.doc_id == doc_id)

    def source_text(self, doc_id: str) -> str:
        """rag.protocols.SourceCorpus: the document's source file as stored."""
        return self.sources[doc_id]

    def _allowed(self, c: Chunk, f: Filters) -> bool:
        doc = self._docs[c.doc_id]
        return ((not f.doc_ids or c.doc_id in f.doc_ids) and (not f.symbols or c.symbol in f.symbols)
                and (not f.doc_types or c.doc_type in f.doc_types)
                and (not f.speakers or _speaks(c, f.speakers))
                and (f.date_from is None or doc.date >= f.date_from)
                and (f.date_to is None or doc.date <= f.date_to))

    def search(self, query: str, top_k: int = 5, filters: Filters | None = None) -> SearchResult:
        self.calls.append({"call": "search", "query": query, "top_k": top_k, "filters": filters})
        f = filters or Filters()
        wanted = _bigrams(query)
        scored = [(len(wanted & _bigrams(c.text + (c.speaker or ""))), c) for c in self.chunks
                  if self._allowed(c, f)]
        ranked = sorted((sc for sc in scored if sc[0] > 0), key=lambda sc: -sc[0])[:top_k]
        passages = tuple(Passage(chunk=c, score=float(s), rank=i, title=self._docs[c.doc_id].title_zh,
                                 date=self._docs[c.doc_id].date, url=self._docs[c.doc_id].url)
                         for i, (s, c) in enumerate(ranked, 1))
        return SearchResult(query=query, passages=passages, diagnostics={"fake": True, "candidates": len(scored)})

    def ask(self, question: str, top_k: int = 5, filters: Filters | None = None,
            mode: str = "extractive") -> Answer:
        if mode not in ("extractive", "llm"):
            raise ValueError(f"unknown answer mode {mode!r}")
        result = self.search(question, top_k, filters)
        self.calls[-1] = {"call": "ask", "query": question, "top_k": top_k, "filters": filters, "mode": mode}
        cited = result.passages[:2]
        if not cited:
            return Answer(question, "文件中没有找到答案。", False, (), {"fake": True})
        text = "".join(p.chunk.text.split("。")[0] + f"[{i}]。" for i, p in enumerate(cited, 1))
        return Answer(question, text, True, cited, {"fake": True, "mode": mode})
