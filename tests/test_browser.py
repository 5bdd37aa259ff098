"""The staff page (service/static/) driven by Playwright through Debian's Chromium, against the
real pipeline on the real corpus. `make browser` installs /usr/bin/chromium; no browser is
downloaded here, and a missing one fails the suite rather than skipping it.

A screenshot of the answered page is written to test-artifacts/screenshot.png and copied to
docs/screenshot.png (linked from the README).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from live_server import REPO, running_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"
API_KEY = "browser-test-key"
ANSWER_WAIT_MS = 120_000  # a generous bound on a CPU shared with other test processes

CHINA = "戴兵先生（中国）"
ZH_QUESTION = "中方对维和行动使用新技术提出了哪些建议？"
EN_QUESTION = "What did Kenya say about social media companies?"
ABSENT_QUESTION = "巴西代表在这次公开辩论中说了什么？"


# --- servers and browser ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def server_url(real_server_url: str) -> str:
    """The service over the real pipeline and index (tests/conftest.py)."""
    return real_server_url


@pytest.fixture(scope="session")
def keyed_server_url() -> Iterator[str]:
    """The service over FakeQA with an API key configured (the key flow needs no real answers)."""
    with running_server([sys.executable, "tests/fake_server.py", "--port", "{port}"],
                        env={"RAG_API_KEY": API_KEY}) as url:
        yield url


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)", pytrace=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(chromium: Browser, base_url: str, width: int = 1280) -> Page:
    context = chromium.new_context(base_url=base_url, viewport={"width": width, "height": 900},
                                   permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto("/")
    return page


@pytest.fixture
def web(chromium: Browser, server_url: str) -> Iterator[Page]:
    """The page on the real server, its filters loaded from /v1/documents and /v1/speakers."""
    page = open_page(chromium, server_url)
    expect(page.locator("#filter-doc option")).not_to_have_count(1)
    yield page
    page.context.close()


def ask(page: Page, question: str) -> None:
    """Type the question, press Enter, wait until the answer (or abstention) is shown."""
    page.get_by_label("问题").fill(question)
    page.get_by_label("问题").press("Enter")
    expect(page.locator("#ask-button")).to_be_enabled(timeout=ANSWER_WAIT_MS)
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#error")).to_be_hidden()


def card_of(page: Page, speaker: str):
    return page.locator(".card").filter(has=page.locator(".who", has_text=re.compile(f"^{re.escape(speaker)}$")))


def save_screenshot(page: Page) -> None:
    """test-artifacts/screenshot.png, copied to docs/ for the README. Without a CJK system font
    Chromium draws Chinese as empty boxes, so a missing font fails here rather than later."""
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=True)
    assert fonts.stdout.strip(), "no CJK font for Chromium: install fonts-wqy-microhei (`make browser`)"
    page.locator("#question").blur()  # no focus ring in the picture
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshot.png", full_page=True)
    (REPO / "docs").mkdir(exist_ok=True)
    shutil.copyfile(ARTIFACTS / "screenshot.png", REPO / "docs" / "screenshot.png")


# --- scenarios --------------------------------------------------------------------------------

def test_chinese_question_cites_china_with_a_copyable_reference(web: Page) -> None:
    web.evaluate("""() => { window.sawLoading = false;
      new MutationObserver(() => { if (document.querySelector('#ask-button').disabled &&
        document.querySelector('#status').classList.contains('loading')) window.sawLoading = true; })
      .observe(document.body, {subtree: true, attributes: true, childList: true}); }""")
    ask(web, ZH_QUESTION)
    assert web.evaluate("window.sawLoading"), "no loading state was shown while the answer was pending"
    expect(web.locator("#answer .marker").first).to_be_visible()
    card = card_of(web, CHINA).first
    expect(card).to_be_visible()
    expect(card.locator("a.symbol")).to_have_attribute("href", "https://undocs.org/zh/S/PV.8838")
    expect(card.locator(".title")).to_contain_text("2021-08-18")
    expect(card.locator(".muted").first).to_contain_text("中国")

    save_screenshot(web)

    label = card.locator(".para").inner_text()
    assert re.fullmatch(r"第(p\d+(-p\d+)?|\d+(\(\w+\))?)段", label), label
    card.get_by_role("button", name="Copy citation").click()
    expected = f"S/PV.8838, {CHINA}, {label}"
    expect(card.locator(".copied")).to_have_text(f"已复制 Copied: {expected}")
    assert web.evaluate("navigator.clipboard.readText()") == expected


def test_document_without_symbol_is_cited_by_its_title(web: Page) -> None:
    manifest = json.loads((REPO / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    letter = next(d for d in manifest["documents"] if d["symbol"] is None)
    web.get_by_label("文件 Document", exact=True).select_option(letter["id"])
    ask(web, "What did the workshop on protection of civilians discuss?")
    card = web.locator(".card").first
    expect(card.locator(".symbol")).to_have_text("无文号 No symbol")
    expect(card.locator("a[href*='undocs.org']")).to_have_count(0)
    who, label = card.locator(".who").inner_text(), card.locator(".para").inner_text()
    card.get_by_role("button", name="Copy citation").click()
    expected = f"《{letter['title_zh']}》, {who}, {label}"
    expect(card.locator(".copied")).to_have_text(f"已复制 Copied: {expected}")


def test_english_question_cites_kenya(web: Page) -> None:
    ask(web, EN_QUESTION)
    expect(web.locator("#abstain")).to_be_hidden()
    kenya = web.locator(".card").filter(has=web.locator(".who", has_text="肯尼亚"))
    expect(kenya.filter(has=web.locator("blockquote", has_text="社交媒体")).first).to_be_visible()


def test_marker_brings_its_card_forward_by_keyboard(web: Page) -> None:
    ask(web, ZH_QUESTION)
    markers = web.locator("#answer .marker")
    last = markers.nth(markers.count() - 1)
    n = last.get_attribute("data-cite")
    last.focus()
    web.keyboard.press("Enter")
    card = web.locator(f"#cite-{n}")
    expect(card).to_have_class(re.compile(r"\bhighlight\b"))
    expect(card).to_be_focused()
    expect(card).to_be_in_viewport()
    expect(web.locator(".card.highlight")).to_have_count(1)


def test_passage_in_context_and_in_the_document(web: Page) -> None:
    ask(web, ZH_QUESTION)
    card = card_of(web, CHINA).first
    passage = card.locator("blockquote").inner_text()
    button = card.get_by_role("button", name="In context")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    context = card.locator(".context")
    expect(context.locator("mark")).to_have_text(passage)
    expect(context).to_contain_text(CHINA)
    assert context.locator("p[data-para]").count() >= 2, "no neighbouring paragraphs shown"

    label = card.locator(".para").inner_text().removeprefix("第").removesuffix("段")
    card.get_by_role("link", name="Open in document").click()
    targets = web.locator("#doc-body p.target")  # every passage of the paragraph is outlined
    expect(targets.first).to_be_in_viewport()
    assert set(targets.evaluate_all("ps => ps.map(p => p.dataset.para)")) == {label}
    expect(targets.filter(has_text=passage[:20])).to_have_count(1)
    turn = web.locator("#doc-body section.turn:has(p.target)")
    expect(turn.locator("h3")).to_contain_text(CHINA)


def test_browse_meeting_record_and_jump_to_a_speaker(web: Page) -> None:
    web.locator("#nav-docs").click()
    manifest = json.loads((REPO / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    expect(web.locator("#doc-list li")).to_have_count(len(manifest["documents"]))
    web.locator("#doc-list").get_by_role("link", name="S/PV.8838", exact=True).click()
    expect(web.locator("#doc-title")).to_contain_text("S/PV.8838")
    speakers = web.locator("#doc-speakers")
    expect(speakers).to_be_visible()
    assert speakers.get_by_role("link").count() > 10
    speakers.get_by_role("link", name=CHINA, exact=True).first.click()
    assert re.search(r"#t\d+$", web.url), web.url
    turn = web.locator("section.turn:focus")
    expect(turn.locator("h3")).to_contain_text(CHINA)
    expect(turn).to_be_in_viewport()


def test_document_without_turns_shows_numbered_paragraphs(web: Page) -> None:
    web.goto("/#/doc/" + "S%2FRES%2F2518%20(2020)")
    expect(web.locator("#doc-title")).to_contain_text("S/RES/2518 (2020)")
    expect(web.locator("#doc-speakers")).to_be_hidden()
    labels = web.locator("#doc-body p[data-para] .pnum").all_inner_texts()
    assert len(labels) > 5 and any(re.fullmatch(r"\d+", x) for x in labels), labels


def test_abstention_for_an_absent_speaker(web: Page) -> None:
    ask(web, ABSENT_QUESTION)
    box = web.locator("#abstain")
    expect(box).to_be_visible()
    expect(web.locator("#abstain-message")).to_contain_text("巴西")
    expect(web.locator("#abstain-message")).to_contain_text(CHINA)  # says who did speak
    expect(web.locator("#answer")).to_be_hidden()
    expect(web.locator(".card")).to_have_count(0)


def test_filters_restrict_the_citations(web: Page) -> None:
    kenya = "基马尼先生（肯尼亚）"  # unfiltered, this question also cites India's letter S/2021/681
    web.get_by_label("文件 Document", exact=True).select_option("S/PV.8838")
    web.get_by_label("发言者 Speaker", exact=True).select_option(kenya)
    with web.expect_request("**/v1/ask") as request:
        ask(web, "What was said about social media companies?")
    assert request.value.post_data_json["filters"] == {"doc_ids": ["S/PV.8838"], "speakers": [kenya]}
    cards = web.locator(".card").evaluate_all(
        "cards => cards.map(c => [c.dataset.doc, c.querySelector('.who').textContent])")
    assert cards and all(card == ["S/PV.8838", kenya] for card in cards), cards


@pytest.mark.parametrize(("status", "heading"), [(400, "请求无效"), (500, "服务出错")])
def test_api_errors_are_readable(web: Page, status: int, heading: str) -> None:
    body = {"error": {"type": "test_error", "message": f"message for {status}"}}
    web.route("**/v1/ask", lambda route: route.fulfill(status=status, content_type="application/json",
                                                        body=json.dumps(body)))
    web.get_by_label("问题").fill(ZH_QUESTION)
    web.get_by_label("问题").press("Enter")
    error = web.get_by_role("alert")
    expect(error).to_contain_text(heading)
    expect(error).to_contain_text(f"({status}): message for {status}")
    expect(web.locator("#ask-button")).to_be_enabled()


def test_api_key_is_asked_for_stored_and_sent(chromium: Browser, keyed_server_url: str) -> None:
    page = open_page(chromium, keyed_server_url)
    try:
        expect(page.get_by_role("alert")).to_contain_text("(401)")
        expect(page.locator("#key-box")).to_have_attribute("open", "")
        page.get_by_label("API key").fill(API_KEY)
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#error")).to_be_hidden()
        expect(page.locator("#filter-doc option")).not_to_have_count(1)
        assert page.evaluate("localStorage.getItem('unrag.apiKey')") == API_KEY
        ask(page, "中方建议维和行动运用新技术")
        expect(page.locator(".card").first).to_be_visible()
    finally:
        page.context.close()


def test_narrow_screen_has_no_sideways_scrolling(chromium: Browser, server_url: str) -> None:
    page = open_page(chromium, server_url, width=360)
    try:
        ask(page, ZH_QUESTION)
        page.locator(".card").first.get_by_role("button", name="In context").click()
        expect(page.locator(".context mark").first).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"page is {overflow}px wider than a 360px screen"
    finally:
        page.context.close()


# --- the official English on citation cards ----------------------------------------------------

def _citation(n: int, text: str, text_en: str | None) -> dict:
    return {"id": n, "doc_id": "E/RES/2023/18", "symbol": "E/RES/2023/18", "doc_type": "resolution",
            "speaker": "经济及社会理事会", "speaker_info": None, "turn": None, "paragraph": str(n), "start": 0,
            "end": len(text), "text": text, "role": "body", "text_en": text_en, "en_start": 0 if text_en else None,
            "en_end": len(text_en) if text_en else None, "score": 1.0, "rank": n,
            "title": "2023年7月25日经济及社会理事会决议", "date": "2023-07-25", "url": "https://undocs.org/zh/E/RES/2023/18"}


BILINGUAL_ANSWER = {
    "question": "What did the Council decide?", "answerable": True, "diagnostics": {},
    "answer": "The Economic and Social Council decided to invite Member States to consider measures[1]. "
              "It was adopted at the 43rd plenary meeting[2].",
    "citations": [
        _citation(1, "决定请联合国会员国、国际组织和各区域委员会考虑是否可以采取适当措施。",
                  "Decides to invite States Members of the United Nations, international organizations and the "
                  "regional commissions to consider whether appropriate measures can be taken."),
        _citation(2, "第43次全体会议", None)],
}


def _answer_with_english(page: Page) -> None:
    page.route("**/v1/ask", lambda route: route.fulfill(status=200, content_type="application/json",
                                                        body=json.dumps(BILINGUAL_ANSWER)))
    ask(page, BILINGUAL_ANSWER["question"])


def test_a_citation_with_a_translation_shows_the_official_english_beside_the_chinese(web: Page) -> None:
    _answer_with_english(web)
    first, second = web.locator("#cite-1"), web.locator("#cite-2")
    english = first.locator(".text-en")
    expect(english).to_have_attribute("lang", "en")
    expect(english).to_contain_text("Official English")
    expect(english.locator("p")).to_have_text(BILINGUAL_ANSWER["citations"][0]["text_en"])
    expect(first.locator("blockquote")).to_have_text(BILINGUAL_ANSWER["citations"][0]["text"])
    zh_box, en_box = first.locator("blockquote").bounding_box(), english.bounding_box()
    assert en_box["x"] > zh_box["x"] + zh_box["width"] - 1, "the English is not beside the Chinese"
    expect(second.locator(".text-en")).to_have_count(0)  # no translation: the Chinese alone, as before
    expect(second.locator("blockquote")).to_have_text("第43次全体会议")


def test_a_translated_document_is_cited_with_its_official_english(web: Page) -> None:
    """On the real corpus: the Ukrainian note verbale has its official English (corpus/*.en.txt)."""
    ask(web, "Why does Ukraine want to join the Executive Committee of the UNHCR programme?")
    card = web.locator(".card[data-doc='NV-2023-04-26-Ukraine-UNHCR-ExCom']").first
    expect(card).to_be_visible()
    expect(card.locator("blockquote")).to_contain_text("乌克兰")
    expect(card.locator(".text-en p")).to_contain_text("Ukraine")
    expect(card.locator(".text-en")).to_have_attribute("lang", "en")


def test_on_a_narrow_screen_the_english_goes_below_the_chinese(chromium: Browser, server_url: str) -> None:
    page = open_page(chromium, server_url, width=360)
    try:
        _answer_with_english(page)
        card = page.locator("#cite-1")
        zh_box, en_box = card.locator("blockquote").bounding_box(), card.locator(".text-en").bounding_box()
        assert en_box["y"] >= zh_box["y"] + zh_box["height"] - 1
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"page is {overflow}px wider than a 360px screen"
    finally:
        page.context.close()


# --- the add-document form (POST /v1/documents) -------------------------------------------------
# `rag serve` over a temporary corpus of one document: the form uploads a PDF, the service writes it
# and rebuilds its index in the background, and the page lists the new document when it is ready.

ADD_WAIT_MS = 180_000  # the rebuild embeds the new document on a shared CPU


@pytest.fixture(scope="session")
def add_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = tmp_path_factory.mktemp("add-server")
    corpus = base / "corpus"
    corpus.mkdir()
    manifest = json.loads((REPO / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    prst = next(d for d in manifest["documents"] if d["type"] == "presidential_statement")
    shutil.copyfile(REPO / "corpus" / prst["file"], corpus / prst["file"])
    (corpus / "manifest.json").write_text(json.dumps({"documents": [prst]}, ensure_ascii=False, indent=2) + "\n",
                                          encoding="utf-8")
    command = [sys.executable, "-m", "rag.cli", "serve", "--port", "{port}", "--corpus", str(corpus)]
    with running_server(command, env={"RAG_INDEX_DIR": str(base / "index"), "RAG_API_KEY": ""}, timeout=300) as url:
        yield url


@pytest.fixture
def add_page(chromium: Browser, add_server_url: str) -> Iterator[Page]:
    page = open_page(chromium, add_server_url)
    expect(page.locator("#filter-doc option")).not_to_have_count(1)
    page.locator("#nav-add").click()
    expect(page.locator("#view-add")).to_be_visible()
    yield page
    page.context.close()


def test_add_form_prefills_what_the_pdf_states_then_adds_it(add_page: Page, tmp_path: Path) -> None:
    from un_docs import make_pdf

    lines = [line for line in (REPO / "corpus" / "110_ecosoc_res_2023_18.txt")
             .read_text(encoding="utf-8").splitlines() if line.strip()]
    pdf = make_pdf(tmp_path / "E_RES_2023_18.pdf", lines, symbol="E/RES/2023/18", masthead=["经济及社会理事会"])
    page = add_page
    page.get_by_label("文件 File").set_input_files(str(pdf))
    expect(page.get_by_label("文号 Symbol")).to_have_value("E/RES/2023/18", timeout=60_000)
    expect(page.locator("#hint-symbol")).to_contain_text("联合国 E/RES/2023/18")
    expect(page.get_by_label("类型 Kind")).to_have_value("resolution")
    expect(page.get_by_label("日期 Date")).to_have_value("2023-07-25")
    expect(page.get_by_label("机构 Organ")).to_have_value("Economic and Social Council")
    expect(page.get_by_label("中文标题 Chinese title")).to_have_value("2023年7月25日经济及社会理事会决议")
    page.get_by_label("英文标题 English title").fill("Resolution adopted by the Economic and Social Council")
    page.get_by_role("button", name="添加 Add").click()
    done = page.locator("#add-done")
    expect(done).to_contain_text("已添加 Added: E/RES/2023/18", timeout=60_000)
    expect(page.get_by_label("文号 Symbol")).to_have_value("")  # the form is ready for the next one
    expect(done.locator(".ready")).to_be_visible(timeout=ADD_WAIT_MS)  # the rebuilt index lists it
    done.get_by_role("link", name="E/RES/2023/18").click()
    expect(page.locator("#doc-title")).to_contain_text("E/RES/2023/18")
    expect(page.locator("#doc-body")).to_contain_text("煤矿甲烷")


def test_add_form_shows_what_is_missing_and_the_services_refusal(add_page: Page, tmp_path: Path) -> None:
    plain = tmp_path / "notes.txt"
    plain.write_text("谨此告知。\n", encoding="utf-8")
    page = add_page
    page.get_by_label("文件 File").set_input_files(str(plain))
    missing = page.locator("#add-missing")
    expect(missing).to_have_text("仍缺少 Still missing: id, kind, date, title_zh", timeout=60_000)
    expect(page.get_by_label("日期 Date")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#hint-symbol")).to_contain_text("none is made up")
    page.get_by_label("日期 Date").fill("2023-02-30")
    page.get_by_role("button", name="添加 Add").click()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("输入有误 Invalid input (422)")
    expect(error).to_contain_text("date '2023-02-30' is not a calendar date")
    expect(page.get_by_label("日期 Date")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#add-done")).to_be_hidden()
