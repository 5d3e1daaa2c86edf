// The live dashboard: reads Server-Sent Events from /events and does the moves through /api.
// The token comes from the URL's fragment (#token=...) that `lbdemo up --dashboard` printed; it
// is kept in this tab's sessionStorage and the fragment is removed from the address bar, so a
// shared screen never shows it. EventSource cannot send an Authorization header, so the stream
// is read with fetch() and parsed here (the wire format is plain SSE all the same).
"use strict";

const LOG_LIMIT = 200;
// What the page has shown, for the browser test: rotations as they changed (names up), lines.
const state = { token: null, connected: false, snapshots: 0, logLines: 0, rotations: [],
                arrivals: [], renderMs: 0, deadShown: [] };
window.LBDEMO = state; // what the browser test reads

function takeToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("lbdemo-token", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem("lbdemo-token");
}

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function number(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

function setConnection(ok, text) {
  state.connected = ok;
  const node = $("connection");
  node.className = "status " + (ok ? "good" : "bad");
  setText(node, text);
}

// -- the stream ---------------------------------------------------------------------------------

async function follow(generation) {
  while (generation === state.generation) {  // a newer token starts a newer loop
    try {
      const response = await fetch("events", { headers: { Authorization: "Bearer " + state.token } });
      if (response.status === 401) {
        setConnection(false, "token refused");
        $("no-token").hidden = false;
        return;
      }
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      setConnection(true, "live");
      await readEvents(response.body.getReader(), generation);
    } catch (error) {
      // the server went away (the stack stopped, the demo ended): try again shortly
    }
    if (generation !== state.generation) return;
    setConnection(false, "reconnecting…");
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

async function readEvents(reader, generation) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    if (generation !== state.generation) { reader.cancel(); return; }
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) handle(kind, JSON.parse(data.join("\n")));
    }
  }
}

function handle(kind, data) {
  if (kind === "snapshot") {
    state.snapshots += 1;
    state.last = data;
    const started = performance.now();
    render(data);
    // the first snapshot builds the cards; later ones only change text: that is what is timed
    if (state.snapshots > 1) state.renderMs = Math.max(state.renderMs, performance.now() - started);
    state.arrivals.push(started);
    if (state.arrivals.length > 600) state.arrivals.shift();
  }
  else if (kind === "log") addLog(data);
}

// -- drawing ------------------------------------------------------------------------------------

function render(snap) {
  const stack = snap.stack;
  setText($("stack"), stack ? `${stack.summary} · balancer ${stack.balancer}` : "no stack running");
  const counts = snap.counts || {};
  const load = counts.load || {};
  setText($("count-rps"), counts.rps === undefined ? "–" : Number(counts.rps).toFixed(0));
  setText($("count-requests"), number(counts.requests));
  const reads = load.reads !== null && load.reads !== undefined;
  setText($("count-reads"), number(reads ? load.reads : load.ops));
  setText($("count-reads-label"), reads ? "reads (Locust)" : "operations recorded (Locust)");
  setText($("count-stale"), number(load.stale_reads));
  $("count-stale").parentElement.classList.toggle("hot", (load.stale_reads || 0) > 0);
  setText($("count-divergent"), number(counts.divergent_keys));
  $("count-divergent").parentElement.classList.toggle("hot", (counts.divergent_keys || 0) > 0);
  setText($("count-divergent-label"),
    `divergent keys of ${number(counts.keys)} (${number(counts.replicas_listed)} replicas asked)`);
  renderRotation(snap.rotation || []);
  renderCards(snap.replicas || []);
}

function renderRotation(rotation) {
  const list = $("rotation");
  const key = rotation.map((r) => r.name + ":" + r.state).join(",");
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  state.rotations.push(rotation.filter((r) => r.state === "up").map((r) => r.name));
  if (state.rotations.length > 100) state.rotations.shift();
  list.replaceChildren(...rotation.map((r) =>
    el("li", { class: r.state, "data-name": r.name }, `${r.name} · ${r.state}`)));
}

function renderCards(replicas) {
  const box = $("cards");
  const seen = new Set();
  for (const replica of replicas) {
    seen.add(replica.name);
    let card = box.querySelector(`[data-name="${CSS.escape(replica.name)}"]`);
    if (!card) card = box.appendChild(makeCard(replica.name));
    card.classList.toggle("sick", replica.health !== "healthy");
    card.classList.toggle("out", replica.rotation !== "up");
    card.classList.toggle("dead", replica.dead);
    if (replica.dead && !state.deadShown.includes(replica.name)) state.deadShown.push(replica.name);
    for (const button of card.querySelectorAll("button")) button.disabled = replica.dead;
    const fields = {
      health: replica.health, rotation: replica.rotation,
      rps: Number(replica.rps).toFixed(0), rows: number(replica.rows),
      image: replica.image, id: replica.id,
    };
    for (const [name, text] of Object.entries(fields)) {
      setText(card.querySelector(`[data-field="${name}"]`), String(text));
    }
  }
  for (const card of [...box.children]) if (!seen.has(card.dataset.name)) card.remove();
}

function makeCard(name) {
  const row = (label, field) => [el("dt", {}, label), el("dd", { "data-field": field })];
  const kill = el("button", { type: "button", class: "danger", "data-action": "kill" }, "kill");
  const remove = el("button", { type: "button", "data-action": "remove" }, "remove");
  kill.addEventListener("click", () => act(kill, "POST", `api/replicas/${encodeURIComponent(name)}/kill`,
    `killed ${name}: watch it leave the rotation and be replaced`));
  remove.addEventListener("click", () => act(remove, "DELETE", `api/replicas/${encodeURIComponent(name)}`,
    `removed ${name}`));
  return el("div", { class: "card", "data-name": name },
    el("h3", {}, name),
    el("dl", {}, ...row("health", "health"), ...row("rotation", "rotation"),
      ...row("requests/s", "rps"), ...row("rows stored", "rows"), ...row("image", "image"),
      ...row("container", "id")),
    kill, " ", remove);
}

function addLog(entry) {
  state.logLines += 1;
  const log = $("log");
  log.prepend(el("li", {}, el("time", {}, entry.time), entry.line));
  while (log.children.length > LOG_LIMIT) log.lastChild.remove();
}

// -- moves --------------------------------------------------------------------------------------

async function call(method, path) {
  const response = await fetch(path, { method, headers: { Authorization: "Bearer " + state.token } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function say(text, isError) {
  const node = $("action-status");
  node.className = "action-status" + (isError ? " error" : "");
  node.textContent = text;
}

async function act(button, method, path, done) {
  button.disabled = true;
  say("…");
  try {
    await call(method, path);
    say(done);
  } catch (error) {
    say(error.message, true);
  } finally {
    button.disabled = false;
  }
}

async function lookup(event) {
  event.preventDefault();
  const key = $("lookup-key").value.trim();
  if (!key) return;
  try {
    const body = await call("GET", `api/lookup/${encodeURIComponent(key)}`);
    const answers = body.rows.map((r) => r.status === 200 ? `${r.price}|${r.write_id}` : r.status === 404 ? "absent" : "?");
    const common = answers.filter((a) => a === answers[0]).length === answers.length;
    const rows = body.rows.map((r, i) => el("tr", {},
      el("td", {}, r.replica || r.asked), el("td", {}, r.container_id),
      el("td", { class: common ? "" : "differs" }, r.status === 200 ? String(r.price) : r.status === 404 ? "(not found)" : `(${r.error || "HTTP " + r.status})`),
      el("td", {}, r.write_id || "")));
    $("lookup-result").querySelector("tbody").replaceChildren(...rows);
    $("lookup-result").hidden = false;
    say(common ? `${key}: the replicas agree` : `${key}: the replicas disagree`, !common);
  } catch (error) {
    say(error.message, true);
  }
}

function start() {
  state.token = takeToken();
  $("add").addEventListener("click", () => act($("add"), "POST", "api/replicas", "a replica joined"));
  $("upgrade").addEventListener("click", () => act($("upgrade"), "POST", "api/upgrade",
    "upgrade done: every replica runs lbdemo/catalog:1.1"));
  $("lookup-form").addEventListener("submit", lookup);
  // The link pasted into a tab already on this page only changes the fragment: no reload.
  window.addEventListener("hashchange", () => {
    const had = state.token;
    state.token = takeToken();
    if (state.token && state.token !== had) connect();
  });
  connect();
}

function connect() {
  if (!state.token) {
    $("no-token").hidden = false;
    setConnection(false, "no token");
    return;
  }
  $("no-token").hidden = true;
  state.generation = (state.generation || 0) + 1;
  follow(state.generation);
}

start();
