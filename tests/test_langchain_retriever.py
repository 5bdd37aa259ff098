"""rag.integrations.langchain.RagRetriever inside LangChain chains, with fake chat models."""

from __future__ import annotations

import asyncio
import concurrent.futures

from fakes import FakeQA
from langchain_core.language_models.fake_chat_models import FakeListChatModel, ParrotFakeChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from rag.integrations.langchain import RagRetriever, format_documents
from rag.records import Filters

QUESTION = "中方对维和行动使用新技术提出了哪些建议？"
METADATA = ["doc_id", "symbol", "doc_type", "speaker", "speaker_info", "turn", "paragraph", "start", "end",
            "role", "text_en", "en_start", "en_end", "score", "rank", "title", "date", "url"]
PROMPT = ChatPromptTemplate.from_messages([
    ("system", "Answer only from these sources and cite them as [n]:\n{context}"),
    ("human", "{question}"),
])


def test_documents_carry_passage_metadata():
    qa = FakeQA()
    docs = RagRetriever(searcher=qa, top_k=2).invoke(QUESTION)
    assert len(docs) == 2
    first = docs[0]
    assert list(first.metadata) == METADATA
    assert first.metadata["symbol"] == "S/PV.8838" and first.metadata["speaker"] == "戴兵先生（中国）"
    assert first.metadata["speaker_info"]["affiliation"] == "中国"
    chunk = next(c for c in qa.chunks if c.text == first.page_content)
    assert (first.metadata["start"], first.metadata["end"]) == (chunk.start, chunk.end)
    assert first.id == chunk.id and first.metadata["url"] == "https://undocs.org/zh/S/PV.8838"
    assert qa.calls[-1]["top_k"] == 2


def test_filters_are_passed_to_the_searcher():
    qa = FakeQA()
    filters = Filters(doc_ids=("S/RES/2518 (2020)",))
    docs = RagRetriever(searcher=qa, filters=filters).invoke("维和人员的安全")
    assert qa.calls[-1]["filters"] == filters
    assert docs and {d.metadata["doc_id"] for d in docs} == {"S/RES/2518 (2020)"}


def test_retrieved_sources_reach_the_model_in_a_chain():
    retriever = RagRetriever(searcher=FakeQA(), top_k=2)
    prompt = ChatPromptTemplate.from_messages([("human", "Sources:\n{context}\n\nQuestion: {question}")])
    # the parrot model answers with the message it was sent, so the output shows what the model saw
    chain = ({"context": retriever | format_documents, "question": RunnablePassthrough()}
             | prompt | ParrotFakeChatModel() | StrOutputParser())
    seen = chain.invoke(QUESTION)
    assert "[1] S/PV.8838, 戴兵先生（中国） (¶2): 中方建议维和行动积极运用新技术" in seen
    assert "[2] S/PV.8838, 戴兵先生（中国） (¶3)" in seen
    assert seen.endswith(f"Question: {QUESTION}")


def test_chain_returns_answer_with_its_sources():
    retriever = RagRetriever(searcher=FakeQA(), top_k=3)
    llm = FakeListChatModel(responses=["中方建议积极运用新技术[1]。"])
    answer_chain = ({"context": lambda x: format_documents(x["docs"]), "question": lambda x: x["question"]}
                    | PROMPT | llm | StrOutputParser())
    chain = {"docs": retriever, "question": RunnablePassthrough()} | RunnablePassthrough.assign(answer=answer_chain)
    out = chain.invoke(QUESTION)
    assert out["answer"] == "中方建议积极运用新技术[1]。"
    assert out["docs"][0].metadata["speaker"] == "戴兵先生（中国）"


def test_async_invoke():
    # In a thread of its own: the browser tests' Playwright (sync API) may keep an event loop
    # running in the main thread for the rest of the session.
    coro = RagRetriever(searcher=FakeQA(), top_k=1).ainvoke(QUESTION)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        docs = pool.submit(asyncio.run, coro).result()
    assert len(docs) == 1 and docs[0].metadata["rank"] == 1
