// textmanifold search page: plain JavaScript, no build step.
// State lives in the URL: ?text=...|?id=...[&modify=...]  &k=10  &sel=<result id>.
// An uploaded image is kept in history.state only (too big for a shareable link).
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;   // {query: {...}, k, sel, answer}
let queries = ["id", "vector", "text", "image"];  // what the index answers (/healthz)

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

function fmt(x) { return x === null || x === undefined ? "∞" : x.toFixed(3); }

function stateFromUrl() {
  const p = new URLSearchParams(location.search);
  const k = parseInt(p.get("k") || "10", 10);
  const base = {k: Number.isFinite(k) ? k : 10, sel: p.get("sel")};
  const modify = p.get("modify") ? {modify: p.get("modify")} : {};
  if (p.get("text")) return {...base, query: {text: p.get("text")}};
  if (p.get("id")) return {...base, query: {id: p.get("id"), ...modify}};
  if (p.get("upload") && history.state && history.state.image)
    return {...base, query: {image: history.state.image, ...modify}};
  return null;
}

function urlOf(state) {
  const p = new URLSearchParams();
  if (state.query.text) p.set("text", state.query.text);
  else if (state.query.id) p.set("id", state.query.id);
  else p.set("upload", "1");
  if (state.query.modify) p.set("modify", state.query.modify);
  p.set("k", String(state.k));
  if (state.sel) p.set("sel", state.sel);
  return "?" + p.toString();
}

function remember(state, replace) {
  const url = urlOf(state);
  const data = state.query.image ? {image: state.query.image} : null;
  if (replace) history.replaceState(data, "", url); else history.pushState(data, "", url);
}

function setStatus(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = kind || "muted";
}

async function search(state, push) {
  setStatus("searching…", "loading");
  document.body.setAttribute("aria-busy", "true");
  $("search-button").disabled = true;
  if (push !== undefined) remember(state, !push);
  const body = {...state.query, k: state.k, metric: "both", paths: true};
  let answer;
  try {
    const response = await fetch("/search", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
  } catch (err) {
    setStatus("error: " + err.message, "error");
    return;
  } finally {
    document.body.removeAttribute("aria-busy");
    $("search-button").disabled = false;
  }
  current = {...state, answer};
  setStatus("");
  fillForm(state);
  showQuery(state.query);
  const euclideanRank = new Map(answer.euclidean.map((h) => [h.id, h.rank]));
  showRanking($("geodesic-results"), answer.geodesic, euclideanRank);
  showRanking($("euclidean-results"), answer.euclidean, null);
  showUnreachable(answer.geodesic);
  $("results").hidden = false;
  select(state.sel, false);
}

function showUnreachable(hits) {
  const note = $("unreachable-note");
  const lost = hits.filter((h) => !h.reachable).length;
  note.hidden = lost === 0;
  if (!lost) return;
  note.textContent = (lost === hits.length ? "None of the " + plural(hits.length, "result") +
    " is reachable" : plural(lost, "result") + " of " + hits.length +
    (lost === 1 ? " is" : " are") + " unreachable") +
    ": no path within the threshold — shown by angle instead, after the reachable ones.";
}

function fillForm(state) {
  $("query-text").value = state.query.text || "";
  $("query-modify").value = state.query.modify || "";
  $("query-k").value = state.k;
}

function showQuery(query) {
  const box = $("query-card");
  box.replaceChildren();
  if (query.text) box.append(el("div", "step step-query", "“" + query.text + "”"));
  else {
    const img = el("img");
    img.src = query.image || "/items/" + encodeURIComponent(query.id) + "/image";
    img.alt = query.id || "uploaded image";
    box.append(img, el("div", "muted", query.id ? "item " + query.id : "uploaded image"));
    if (query.modify) box.append(el("div", "step step-query", "modified by “" + query.modify + "”"));
  }
  $("query-view").hidden = false;
}

function card(hit, euclideanRank) {
  const node = el("div", "card" + (hit.reachable ? "" : " unreachable"));
  node.dataset.id = hit.id;
  node.title = hit.caption || hit.id;
  node.tabIndex = 0;
  node.setAttribute("role", "button");
  node.setAttribute("aria-label", "result " + hit.rank + ": " + (hit.caption || hit.id));
  const img = el("img");
  img.src = hit.image_url;
  img.alt = hit.caption || hit.id;
  img.loading = "lazy";
  node.append(img, el("div", "id", "#" + hit.rank + " " + hit.id));
  if (hit.caption) node.append(el("div", "caption", hit.caption));
  node.append(el("div", null, "geodesic " + fmt(hit.geodesic)),
    el("div", null, "angular " + fmt(hit.euclidean)));
  if (!hit.reachable) node.append(el("span", "badge", "unreachable"));
  if (euclideanRank) {  // where the two rankings disagree, say so on the card
    const other = euclideanRank.get(hit.id);
    if (other !== hit.rank) {
      const mark = el("span", "moved", other ? "↕ angular #" + other : "↕ not in angular top " +
        euclideanRank.size);
      node.dataset.moved = "1";
      node.append(mark);
    }
  }
  node.addEventListener("click", () => select(hit.id, true));
  node.addEventListener("keydown", (event) => onCardKey(event, node, hit.id));
  return node;
}

function onCardKey(event, node, id) {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    select(id, true);
    return;
  }
  const step = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[event.key];
  if (!step) return;
  event.preventDefault();
  const cards = Array.from(node.parentElement.querySelectorAll(".card"));
  const next = cards[Math.min(cards.length - 1, Math.max(0, cards.indexOf(node) + step))];
  next.focus();
}

function showRanking(box, hits, euclideanRank) {
  box.replaceChildren(...hits.map((h) => card(h, euclideanRank)));
  if (!hits.length) box.append(el("p", "muted", "no results"));
}

function hitOf(id) {
  const a = current.answer;
  return a.geodesic.find((h) => h.id === id && h.path) ||
         a.euclidean.find((h) => h.id === id && h.path) ||
         a.geodesic.find((h) => h.id === id) || a.euclidean.find((h) => h.id === id);
}

function select(id, push) {
  document.querySelectorAll(".card").forEach((c) =>
    c.classList.toggle("selected", c.dataset.id === id));
  const hit = id ? hitOf(id) : null;
  if (!hit) { $("path-view").hidden = true; return; }
  current.sel = id;
  if (push) remember(current, false);
  showPath(hit);
}

function step(s) {
  const node = el("div", "step step-" + s.kind);
  node.dataset.kind = s.kind;
  node.dataset.id = s.id;
  if (s.kind === "image") {
    const img = el("img");
    img.src = s.image_url;
    img.alt = s.id;
    node.append(img, el("div", "id", s.id));
  } else if (s.kind === "text") {
    node.append(el("span", null, "“" + (s.caption || s.id) + "”"));
  } else {
    const q = current.query;
    if (q.text) node.append(el("span", null, "query: “" + q.text + "”"));
    else {
      const img = el("img");
      img.src = q.image || "/items/" + encodeURIComponent(q.id) + "/image";
      node.append(img, el("div", null, q.modify ? "query, modified by “" + q.modify + "”"
                                                : "query"));
    }
  }
  return node;
}

function showPath(hit) {
  const box = $("path");
  box.replaceChildren();
  const steps = hit.path || [];
  steps.forEach((s, i) => {
    if (i) {
      const hop = el("span", "hop");
      hop.dataset.angle = s.angle;
      hop.append(el("span", "arrow", "→"), el("span", null, fmt(s.angle) + " rad"));
      box.append(hop);
    }
    box.append(step(s));
  });
  const images = steps.filter((s) => s.kind === "image").length;
  const texts = steps.filter((s) => s.kind === "text").length;
  const total = steps.reduce((sum, s) => sum + (s.angle || 0), 0);
  $("path-summary").textContent = steps.length
    ? `${plural(images, "image")} · ${plural(texts, "sentence")} · ` +
      `${plural(steps.length - 1, "hop")} totalling ${fmt(total)} rad = geodesic ${fmt(hit.geodesic)}`
    : "no path within the threshold: the result is unreachable from the query, shown by angle";
  $("path-view").hidden = false;
  $("search-from").onclick = () => {
    const modify = $("query-modify").value.trim();
    const canModify = queries.includes("modify") && modify;
    search({query: {id: hit.id, ...(canModify ? {modify} : {})}, k: current.k, sel: null}, true);
  };
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("query-text").value.trim();
  if (!text && $("query-modify").value.trim()) {
    setStatus("a modification goes with an image: upload one, or select a result and " +
              "press “Search from this image”", "error");
    return;
  }
  if (!text) { setStatus("type a sentence or choose an image", "error"); return; }
  search({query: {text}, k: parseInt($("query-k").value, 10) || 10, sel: null}, true);
});

$("query-image").addEventListener("change", () => {
  const file = $("query-image").files[0];
  if (!file) return;
  const reader = new FileReader();
  const modify = $("query-modify").value.trim();
  reader.onload = () => search({query: {image: reader.result,
    ...(queries.includes("modify") && modify ? {modify} : {})},
    k: parseInt($("query-k").value, 10) || 10, sel: null}, true);
  reader.readAsDataURL(file);
});

window.addEventListener("popstate", () => {
  const state = stateFromUrl();
  if (state) search(state);
});

fetch("/healthz").then((r) => r.json()).then((h) => {
  queries = h.queries || queries;
  $("stats").textContent = `${h.n_images} images · ${h.n_texts} sentences` +
    (h.threshold ? ` · threshold ${h.threshold.toFixed(3)} rad` : "");
  $("modify-label").hidden = !queries.includes("modify");
  $("search-from-hint").hidden = !queries.includes("modify");
  if (!queries.includes("text")) {
    $("query-text").disabled = true;
    $("query-text").placeholder = "this index has no text encoder: search from a result";
  }
  if (!queries.includes("image")) $("query-image").disabled = true;
  document.body.dataset.ready = "1";
});

const initial = stateFromUrl();
if (initial) search(initial);
else if (new URLSearchParams(location.search).get("upload"))
  $("status").textContent = "uploaded-image queries are not kept in links: upload it again";
