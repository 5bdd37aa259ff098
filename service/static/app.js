// The staff page: ask, read cited passages in context, browse the record. Plain JS, no build step.
// Routes (location.hash): "#/" ask, "#/docs" the list, "#/add" add a document, "#/doc/<encoded id>" a document,
// optionally followed by "#<paragraph label>" (p12, 13, 3(a)) or "#t<turn>" to land on a paragraph
// or a speaker turn, e.g. "#/doc/S%2FPV.8838#p12".
"use strict";

const $ = (sel) => document.querySelector(sel);
const KEY_STORE = "unrag.apiKey";
const CONTEXT_RADIUS = 2; // neighbouring passages shown on each side of a cited one
const state = { docs: [], details: new Map(), shownDoc: null };

// ---- small DOM helper: el("p", {class: "x", onclick: f}, "text", child) ----
function el(tag, attrs, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== "")
    node.append(kid instanceof Node ? kid : String(kid));
  return node;
}

// ---- API ----
class ApiError extends Error {
  constructor(status, type, message) { super(message); this.status = status; this.type = type; }
}

// body: undefined (GET), a FormData (multipart POST) or an object (JSON POST).
async function api(path, body) {
  const headers = { Accept: "application/json" };
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  const key = localStorage.getItem(KEY_STORE);
  if (key) headers.Authorization = "Bearer " + key;
  let res;
  try {
    res = await fetch(path, { method: body === undefined ? "GET" : "POST", headers,
      body: body === undefined || form ? body : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", e.message);
  }
  let data = null;
  try { data = await res.json(); } catch (_) { /* non-JSON body: reported below */ }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.type || "http_error", err.message || res.statusText);
  }
  return data;
}

function describeError(e) {
  if (!(e instanceof ApiError)) return "页面出错 Page error: " + e.message;
  const s = e.status;
  const head =
    s === 0 ? "无法连接服务 Cannot reach the service" :
    s === 400 ? "请求无效 Bad request" :
    s === 401 ? "需要有效的 API 密钥（在右上角“API 密钥”中输入）A valid API key is required (enter it under “API key”)" :
    s === 404 ? "未找到 Not found" :
    s === 413 ? "文件太大 The file is too large" :
    s === 422 ? "输入有误 Invalid input" :
    s === 503 ? "服务尚未就绪 The service is not ready" :
    s >= 500 ? "服务出错，请稍后重试 The service failed, please retry" : "请求失败 Request failed";
  return `${head}${s ? ` (${s})` : ""}: ${e.message}`;
}

function showError(e) {
  const box = $("#error");
  box.textContent = describeError(e);
  box.hidden = false;
  if (e instanceof ApiError && e.status === 401) $("#key-box").open = true;
}
function clearError() { $("#error").hidden = true; $("#error").textContent = ""; }

function setStatus(text, loading) {
  const s = $("#status");
  s.textContent = text || "";
  s.classList.toggle("loading", Boolean(loading));
}

// ---- labels shared by cards, context and copy ----
// Paragraph labels are the document's own numbers ("13", "3(a)") or positions ("p12", "p4-p6").
function paraLabel(label) { return `第${label}段`; }

function docName(c) { return c.symbol || `《${c.title}》`; }

// The copy format (docs/web.md): "<symbol or 《title》>, <speaker>, 第<paragraph>段".
function citationText(c) {
  return [docName(c), c.speaker, paraLabel(c.paragraph)].filter(Boolean).join(", ");
}

function undocsLink(symbol, url) {
  return el("a", { class: "symbol", href: url || "https://undocs.org/zh/" + encodeURI(symbol),
    target: "_blank", rel: "noopener" }, symbol);
}

function speakerDetail(info) {
  if (!info) return "";
  const bits = [info.affiliation, info.role, info.capacity === "national" ? "以本国身份 national capacity" : null,
    info.language];
  return bits.filter(Boolean).join(" · ");
}

function docRoute(id, frag) {
  return "#/doc/" + encodeURIComponent(id) + (frag ? "#" + encodeURIComponent(frag) : "");
}

// ---- ask ----
async function onAsk(ev) {
  ev.preventDefault();
  const question = $("#question").value.trim();
  if (!question) { $("#question").focus(); return; }
  const body = { question, top_k: Math.min(50, Math.max(1, Number($("#top-k").value) || 5)) };
  const filters = {};
  if ($("#filter-doc").value) filters.doc_ids = [$("#filter-doc").value];
  if ($("#filter-speaker").value) filters.speakers = [$("#filter-speaker").value];
  if (Object.keys(filters).length) body.filters = filters;
  clearError();
  $("#ask-button").disabled = true;
  $("#result").setAttribute("aria-busy", "true");
  setStatus("正在检索并回答… Searching and answering…", true);
  try {
    renderAnswer(await api("/v1/ask", body));
    setStatus("");
  } catch (e) {
    setStatus("");
    $("#result").hidden = true; // never leave an earlier answer looking like this one's
    showError(e);
  } finally {
    $("#ask-button").disabled = false;
    $("#result").removeAttribute("aria-busy");
  }
}

function renderAnswer(data) {
  const cites = new Map(data.citations.map((c) => [c.id, c]));
  const abstain = $("#abstain");
  abstain.hidden = data.answerable;
  abstain.replaceChildren(...(data.answerable ? [] : [
    el("strong", {}, "文件中没有可引用的答案 The documents do not answer this"),
    el("p", { id: "abstain-message" }, data.answer)]));
  const answer = $("#answer");
  answer.hidden = !data.answerable;
  answer.replaceChildren(...data.answer.split(/(\[\d+\])/).map((part) => {
    const m = /^\[(\d+)\]$/.exec(part);
    if (!m || !cites.has(Number(m[1]))) return part;
    return el("button", { type: "button", class: "marker", "data-cite": m[1],
      "aria-label": `引文 ${m[1]} Citation ${m[1]}`, onclick: () => focusCard(m[1]) }, part);
  }));
  $("#citations").replaceChildren(...data.citations.map(card));
  $("#cites-heading").hidden = data.citations.length === 0;
  $("#result").hidden = false;
}

function focusCard(n) {
  document.querySelectorAll(".card.highlight").forEach((c) => c.classList.remove("highlight"));
  const target = document.getElementById("cite-" + n);
  if (!target) return;
  target.classList.add("highlight");
  const calm = matchMedia("(prefers-reduced-motion: reduce)").matches;
  target.scrollIntoView({ block: "start", behavior: calm ? "auto" : "smooth" });
  target.focus({ preventScroll: true });
}

function card(c) {
  const ctxId = "ctx-" + c.id;
  const copied = el("span", { class: "copied muted", role: "status" });
  const ctx = el("div", { class: "context", id: ctxId, hidden: true });
  const ctxButton = el("button", { type: "button", "aria-expanded": "false", "aria-controls": ctxId,
    onclick: () => toggleContext(c, ctxButton, ctx) }, "上下文 In context");
  const copyButton = el("button", { type: "button",
    onclick: () => copyCitation(citationText(c), copied) }, "复制引文 Copy citation");
  return el("li", { class: "card", id: "cite-" + c.id, tabindex: "-1", "data-doc": c.doc_id },
    el("header", {},
      el("span", { class: "num" }, `[${c.id}]`),
      c.symbol ? undocsLink(c.symbol, c.url) : el("span", { class: "symbol" }, "无文号 No symbol"),
      el("span", { class: "title" }, `${c.title} · ${c.date}`)),
    el("div", {},
      el("span", { class: "who" }, c.speaker || "—"), " ",
      el("span", { class: "muted" }, speakerDetail(c.speaker_info)), " ",
      el("span", { class: "para" }, paraLabel(c.paragraph))),
    passage(c),
    el("div", { class: "actions" }, ctxButton,
      el("a", { href: docRoute(c.doc_id, c.paragraph) }, "在文件中查看 Open in document"),
      copyButton, copied),
    ctx);
}

// The cited Chinese text; with the official English of the same span beside it when the
// document has a translation (`text_en`; null otherwise).
function passage(c) {
  const zh = el("blockquote", { lang: "zh-Hans" }, c.text);
  if (!c.text_en) return zh;
  return el("div", { class: "bilingual" }, zh,
    el("div", { class: "text-en", lang: "en" },
      el("span", { class: "tag", lang: "zh-Hans" }, "官方英文本 ", el("span", { lang: "en" }, "Official English")),
      el("p", {}, c.text_en)));
}

async function copyCitation(text, out) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (_) { // clipboard API unavailable (insecure origin): fall back to a selection copy
    const area = el("textarea", {}, text);
    document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
  }
  out.textContent = "已复制 Copied: " + text;
}

// ---- passages in context ----
async function docDetail(id) {
  if (!state.details.has(id)) state.details.set(id, await api("/v1/documents/" + encodeURIComponent(id)));
  return state.details.get(id);
}

async function toggleContext(c, button, box) {
  const open = button.getAttribute("aria-expanded") === "true";
  button.setAttribute("aria-expanded", String(!open));
  box.hidden = open;
  if (open || box.childElementCount) return;
  box.textContent = "加载中… Loading…";
  try {
    box.replaceChildren(...contextNodes(await docDetail(c.doc_id), c));
  } catch (e) {
    box.textContent = describeError(e);
  }
}

const sameSpan = (p, c) => p.start === c.start && p.end === c.end;
const overlaps = (p, c) => p.start < c.end && c.start < p.end;

// The cited passage among its neighbours in the same speaker turn (the whole document when it
// has no turns), the passage itself highlighted. `doc.turns` are the API's runs of chunks with one
// turn and speaker, in reading order.
function contextNodes(doc, c) {
  const pieces = piecesOf(doc);
  let at = pieces.findIndex((p) => sameSpan(p, c));
  if (at < 0) at = pieces.findIndex((p) => overlaps(p, c));
  if (at < 0) return [el("p", {}, "在文件中找不到该段落 Passage not found in the document.")];
  const run = pieces.filter((p) => p.run === pieces[at].run);
  const i = run.indexOf(pieces[at]);
  const from = Math.max(0, i - CONTEXT_RADIUS);
  return [el("p", { class: "muted" }, `${c.speaker || "—"} · ${docName(c)}`),
    ...run.slice(from, i + CONTEXT_RADIUS + 1).map((p) => pieceNode(p, p === pieces[at] ? c : null))];
}

// One passage (a chunk of the document) with its paragraph label; `hit` marks the cited text.
function pieceNode(p, hit) {
  const node = el("p", { "data-para": p.paragraph, "data-start": p.start, tabindex: "-1",
    class: hit ? "here" : null }, el("span", { class: "pnum" }, p.paragraph));
  if (!hit) { node.append(p.text); return node; }
  const i = p.text.indexOf(hit.text);
  if (i < 0) node.append(el("mark", {}, p.text));
  else node.append(p.text.slice(0, i), el("mark", {}, hit.text), p.text.slice(i + hit.text.length));
  return node;
}

// The document's chunks in reading order, each with the index of its run in `doc.turns`.
function piecesOf(doc) {
  if (!doc._pieces) doc._pieces = doc.turns.flatMap((t, run) => t.chunks.map((ch) => ({ ...ch, run })));
  return doc._pieces;
}

// ---- documents ----
function showView(name) {
  for (const v of ["ask", "docs", "doc", "add"]) $("#view-" + v).hidden = v !== name;
  for (const nav of ["#nav-ask", "#nav-docs", "#nav-add"]) $(nav).toggleAttribute("aria-current", false);
  $(name === "ask" ? "#nav-ask" : name === "add" ? "#nav-add" : "#nav-docs").setAttribute("aria-current", "page");
}

function renderDocList() {
  $("#doc-list").replaceChildren(...state.docs.map((d) => el("li", {},
    el("a", { href: docRoute(d.id) }, d.symbol || d.title_zh),
    d.symbol ? el("div", {}, d.title_zh) : null,
    el("div", { class: "meta" }, [d.type, d.date, `${d.chunk_count} 段引文单元 chunks`,
      d.speakers.length ? `${d.speakers.length} 位发言者 speakers` : null].filter(Boolean).join(" · ")))));
}

async function showDoc(id, frag) {
  clearError();
  if (state.shownDoc !== id) {
    setStatus("加载文件… Loading document…", true);
    let doc;
    try { doc = await docDetail(id); } catch (e) { setStatus(""); showError(e); return; }
    setStatus("");
    renderDoc(doc);
    state.shownDoc = id;
  }
  landOn(frag);
}

function renderDoc(doc) {
  $("#doc-title").textContent = doc.symbol ? `${doc.symbol} ${doc.title_zh}` : doc.title_zh;
  $("#doc-meta").replaceChildren(doc.symbol ? undocsLink(doc.symbol, doc.url) : "无文号 No symbol",
    ` · ${doc.type} · ${doc.date}`, el("span", { lang: "en" }, ` · ${doc.title_en}`));
  const body = $("#doc-body");
  const nav = $("#doc-speakers");
  const turns = doc.turns.filter((t) => t.turn !== null);
  nav.hidden = !turns.length;
  if (!turns.length) { // no speaker turns: the numbered paragraphs, under the document's voice
    const voice = doc.turns.find((t) => t.speaker);
    body.replaceChildren(voice ? el("p", { class: "muted" }, "发言者 Speaker: ", voice.speaker) : "",
      ...piecesOf(doc).map((p) => pieceNode(p, null)));
    return;
  }
  nav.replaceChildren(el("h3", {}, "发言者 Speakers"), el("ol", {}, turns.map((t) =>
    el("li", {}, el("a", { href: docRoute(doc.id, "t" + t.turn) }, t.speaker)))));
  const pieces = piecesOf(doc);
  body.replaceChildren(...doc.turns.map((t, run) => {
    const paras = pieces.filter((p) => p.run === run).map((p) => pieceNode(p, null));
    if (t.turn === null) return el("div", { class: "outside" }, paras);
    return el("section", { class: "turn", id: "turn-" + t.turn, tabindex: "-1", "aria-label": t.speaker },
      el("h3", {}, t.speaker, " ", el("span", { class: "muted" }, speakerDetail(t.speaker_info))), paras);
  }));
}

// frag: "t<turn>" for a speaker turn, else a paragraph label ("p12", "13", "3(a)").
function landOn(frag) {
  document.querySelectorAll("#doc-body .target").forEach((n) => n.classList.remove("target"));
  let target = null;
  if (/^t\d+$/.test(frag)) target = document.getElementById("turn-" + frag.slice(1));
  else if (frag) {
    const hits = document.querySelectorAll(`#doc-body p[data-para="${CSS.escape(frag)}"]`);
    hits.forEach((n) => n.classList.add("target"));
    target = hits[0] || null;
  }
  if (!target) { window.scrollTo(0, 0); return; }
  target.scrollIntoView({ block: "center" });
  target.focus({ preventScroll: true });
}

// ---- add a document (POST /v1/documents, multipart) ----
// Choosing a file sends it with dry_run=true: the service extracts the text and answers with what
// the document states (symbol, kind, date, organ, title), which fills the fields below; fields the
// user has typed in are never overwritten. "Add" sends the file with the fields; the service writes
// it and rebuilds the index in the background, and the page waits until the document is listed.
const ADD_FIELDS = ["symbol", "kind", "date", "organ", "title_zh", "title_en", "author", "id", "layout"];
const adding = { edited: new Set(), seq: 0 };

function addBody(dryRun) {
  const body = new FormData();
  body.append("file", $("#add-file").files[0]);
  if ($("#add-translation").files[0]) body.append("translation", $("#add-translation").files[0]);
  for (const name of ADD_FIELDS) {
    const value = $("#add-" + name).value.trim();
    if (value && (!dryRun || adding.edited.has(name))) body.append(name, value);
  }
  if (dryRun) body.append("dry_run", "true");
  return body;
}

function setAddStatus(text, loading) {
  $("#add-status").textContent = text || "";
  $("#add-status").classList.toggle("loading", Boolean(loading));
}

async function onAddFile() {
  clearError();
  $("#add-done").hidden = true;
  if (!$("#add-file").files[0]) return;
  const seq = ++adding.seq;
  setAddStatus("正在读取文件… Reading the document…", true);
  try {
    const report = await api("/v1/documents", addBody(true));
    if (seq === adding.seq) prefill(report.documents[0], report.error);
  } catch (e) {
    if (seq === adding.seq) showError(e);
  } finally {
    if (seq === adding.seq) setAddStatus("");
  }
}

function prefill(doc, error) {
  const values = { ...doc.entry, kind: doc.entry.type };
  for (const name of ADD_FIELDS) {
    const input = $("#add-" + name);
    if (!adding.edited.has(name)) input.value = values[name] ?? "";
    input.setAttribute("aria-invalid", String(doc.missing.includes(name)));
    const hint = $("#hint-" + name);
    if (!hint) continue;
    const found = doc.detected[name];
    hint.textContent = found ? `文件中：${found.from} · Read from the document` :
      name === "symbol" && !values.symbol ? "文件中未印文号，不会编造 The document prints no symbol; none is made up" : "";
  }
  const missing = $("#add-missing");
  missing.textContent = doc.missing.length ? `仍缺少 Still missing: ${doc.missing.join(", ")}` :
    error ? `还不能添加 Cannot add yet: ${error}` : "";
  missing.hidden = !missing.textContent;
}

function markInvalid(message) {
  for (const name of ADD_FIELDS)
    if (new RegExp(`\\b${name}\\b`).test(message)) $("#add-" + name).setAttribute("aria-invalid", "true");
}

async function onAdd(ev) {
  ev.preventDefault();
  clearError();
  if (!$("#add-file").files[0]) {
    showError(new Error("请选择文件 Choose a file (.pdf, .docx, .txt)"));
    $("#add-file").focus();
    return;
  }
  $("#add-button").disabled = true;
  setAddStatus("正在添加… Adding…", true);
  try {
    const data = await api("/v1/documents", addBody(false));
    const entry = data.documents[0].entry;
    const status = (data.reload && data.reload.status) || "started";
    $("#add-done").replaceChildren("已添加 Added: ", el("strong", {}, entry.symbol || entry.title_zh),
      ` (${entry.id}) · 正在重建索引，旧索引继续回答 Rebuilding the index (${status}); the old one answers meanwhile.`);
    $("#add-done").hidden = false;
    resetAdd();
    waitForDocument(entry.id);
  } catch (e) {
    showError(e);
    if (e instanceof ApiError) markInvalid(e.message);
  } finally {
    $("#add-button").disabled = false;
    setAddStatus("");
  }
}

function resetAdd() {
  $("#add-form").reset();
  adding.edited.clear();
  document.querySelectorAll("#add-form [aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
  document.querySelectorAll("#add-form .hint").forEach((n) => { n.textContent = ""; });
  $("#add-missing").hidden = true;
}

// Poll the document list until the rebuilt index has the new document, then refresh the lists.
async function waitForDocument(id, tries = 200) {
  for (let i = 0; i < tries; i++) {
    await new Promise((r) => setTimeout(r, 3000));
    let docs;
    try { docs = (await api("/v1/documents")).documents; } catch (_) { continue; }
    if (docs.some((d) => d.id === id)) {
      await loadCorpus();
      $("#add-done").append(" ", el("span", { class: "ready" }, "已可检索 Now searchable: "),
        el("a", { href: docRoute(id) }, id));
      return;
    }
  }
}

function initAdd() {
  $("#add-file").addEventListener("change", onAddFile);
  $("#add-translation").addEventListener("change", onAddFile);
  $("#add-form").addEventListener("submit", onAdd);
  for (const name of ADD_FIELDS)
    $("#add-" + name).addEventListener("input", () => adding.edited.add(name));
}

// ---- routing and start-up ----
function route() {
  const hash = location.hash.slice(1) || "/";
  if (hash.startsWith("/doc/")) {
    const rest = hash.slice(5);
    const cut = rest.indexOf("#");
    showView("doc");
    showDoc(decodeURIComponent(cut < 0 ? rest : rest.slice(0, cut)),
      cut < 0 ? "" : decodeURIComponent(rest.slice(cut + 1)));
  } else if (hash.startsWith("/docs")) {
    showView("docs");
  } else if (hash.startsWith("/add")) {
    showView("add");
  } else {
    showView("ask");
  }
}

// Fill the filters and the document list; while the index is loading (503) try again shortly.
async function loadCorpus() {
  try {
    const [docs, speakers] = await Promise.all([api("/v1/documents"), api("/v1/speakers")]);
    state.docs = docs.documents;
    $("#filter-doc").replaceChildren($("#filter-doc").options[0],
      ...state.docs.map((d) => el("option", { value: d.id }, d.symbol || d.title_zh)));
    $("#filter-speaker").replaceChildren($("#filter-speaker").options[0],
      ...speakers.speakers.map((s) => el("option", { value: s.speaker,
        title: s.documents.map((d) => d.symbol || d.doc_id).join(", ") }, s.speaker)));
    renderDocList();
  } catch (e) {
    if (e instanceof ApiError && e.status === 503) {
      setStatus("索引加载中… The index is loading…", true);
      setTimeout(() => { setStatus(""); loadCorpus(); }, 3000);
    } else showError(e);
  }
}

function initKey() {
  $("#api-key").value = localStorage.getItem(KEY_STORE) || "";
  $("#key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    localStorage.setItem(KEY_STORE, $("#api-key").value.trim());
    $("#key-box").open = false;
    clearError();
    state.details.clear();
    state.shownDoc = null;
    loadCorpus();
    route();
  });
  $("#key-clear").addEventListener("click", () => { localStorage.removeItem(KEY_STORE); $("#api-key").value = ""; });
}

initKey();
initAdd();
$("#ask-form").addEventListener("submit", onAsk);
window.addEventListener("hashchange", route);
route();
loadCorpus();
