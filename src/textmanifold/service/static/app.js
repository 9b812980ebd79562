// textmanifold search page: plain JavaScript, no build step.
// State lives in the URL: ?text=...|?id=...  &k=10  &sel=<result id>.
// An uploaded image is kept in history.state only (too big for a shareable link).
"use strict";

const $ = (id) => document.getElementById(id);
let current = null;   // {query: {...}, k, sel, answer}

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
  if (p.get("text")) return {...base, query: {text: p.get("text")}};
  if (p.get("id")) return {...base, query: {id: p.get("id")}};
  if (p.get("upload") && history.state && history.state.image)
    return {...base, query: {image: history.state.image}};
  return null;
}

function urlOf(state) {
  const p = new URLSearchParams();
  if (state.query.text) p.set("text", state.query.text);
  else if (state.query.id) p.set("id", state.query.id);
  else p.set("upload", "1");
  p.set("k", String(state.k));
  if (state.sel) p.set("sel", state.sel);
  return "?" + p.toString();
}

function remember(state, replace) {
  const url = urlOf(state);
  const data = state.query.image ? {image: state.query.image} : null;
  if (replace) history.replaceState(data, "", url); else history.pushState(data, "", url);
}

async function search(state, push) {
  $("status").textContent = "searching…";
  if (push !== undefined) remember(state, !push);
  const body = {...state.query, k: state.k, metric: "both", paths: true};
  let answer;
  try {
    const response = await fetch("/search", {method: "POST",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
  } catch (err) {
    $("status").textContent = "error: " + err.message;
    return;
  }
  current = {...state, answer};
  $("status").textContent = "";
  fillForm(state);
  showQuery(state.query);
  showRanking($("geodesic-results"), answer.geodesic);
  showRanking($("euclidean-results"), answer.euclidean);
  $("results").hidden = false;
  select(state.sel, false);
}

function fillForm(state) {
  $("query-text").value = state.query.text || "";
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
  }
  $("query-view").hidden = false;
}

function card(hit) {
  const node = el("div", "card" + (hit.reachable ? "" : " unreachable"));
  node.dataset.id = hit.id;
  node.title = hit.caption || hit.id;
  const img = el("img");
  img.src = hit.image_url;
  img.alt = hit.id;
  img.loading = "lazy";
  node.append(img, el("div", "id", "#" + hit.rank + " " + hit.id),
    el("div", null, "geodesic " + fmt(hit.geodesic)),
    el("div", null, "angular " + fmt(hit.euclidean)));
  if (!hit.reachable) node.append(el("span", "badge", "unreachable"));
  node.addEventListener("click", () => select(hit.id, true));
  return node;
}

function showRanking(box, hits) {
  box.replaceChildren(...hits.map(card));
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
      node.append(img, el("div", null, "query"));
    }
  }
  return node;
}

function showPath(hit) {
  const box = $("path");
  box.replaceChildren();
  const steps = hit.path || [];
  steps.forEach((s, i) => {
    if (i) box.append(el("span", "arrow", "→"));
    box.append(step(s));
  });
  const images = steps.filter((s) => s.kind === "image").length;
  const texts = steps.filter((s) => s.kind === "text").length;
  $("path-summary").textContent = steps.length
    ? `${plural(images, "image")} · ${plural(texts, "sentence")} · ` +
      `geodesic ${fmt(hit.geodesic)} rad`
    : "no path: the result is unreachable from the query";
  $("path-view").hidden = false;
  $("search-from").onclick = () =>
    search({query: {id: hit.id}, k: current.k, sel: null}, true);
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("query-text").value.trim();
  if (!text) { $("status").textContent = "type a sentence or choose an image"; return; }
  search({query: {text}, k: parseInt($("query-k").value, 10) || 10, sel: null}, true);
});

$("query-image").addEventListener("change", () => {
  const file = $("query-image").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => search({query: {image: reader.result},
    k: parseInt($("query-k").value, 10) || 10, sel: null}, true);
  reader.readAsDataURL(file);
});

window.addEventListener("popstate", () => {
  const state = stateFromUrl();
  if (state) search(state);
});

fetch("/healthz").then((r) => r.json()).then((h) => {
  $("stats").textContent = `${h.n_images} images · ${h.n_texts} sentences` +
    (h.threshold ? ` · threshold ${h.threshold.toFixed(3)} rad` : "");
});

const initial = stateFromUrl();
if (initial) search(initial);
else if (new URLSearchParams(location.search).get("upload"))
  $("status").textContent = "uploaded-image queries are not kept in links: upload it again";
