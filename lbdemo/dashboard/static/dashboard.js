// The live dashboard: reads Server-Sent Events from /events and does the moves through /api.
// The token comes from the URL's fragment (#token=...) that `lbdemo up --dashboard` printed; it
// is kept in this tab's sessionStorage and the fragment is removed from the address bar, so a
// shared screen never shows it. EventSource cannot send an Authorization header, so the stream
// is read with fetch() and parsed here (the wire format is plain SSE all the same).
// The snapshot's fields are described in docs/dashboard.md; fields a server does not send yet
// (verdict, series, key) are derived here from the older ones, so the page works on both.
"use strict";

const LOG_LIMIT = 60;
const FRESH_MS = 8000; // a replacement's card is highlighted this long: long enough to be seen
// What the page has shown, for the browser test: rotations as they changed (names up), lines.
const state = { token: null, connected: false, snapshots: 0, logLines: 0, rotations: [],
                arrivals: [], renderMs: 0, deadShown: [], freshShown: [], stoppedShown: 0,
                generationSeen: null, resets: 0, chart: null, local: null, lookups: 0 };
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

// A counter's figure: exact up to a million, then in millions (a projector's tile is narrow).
function figure(value) {
  if (value === null || value === undefined) return "–";
  const n = Number(value);
  return n >= 1e6 ? (n / 1e6).toLocaleString("en-US", { maximumFractionDigits: 1 }) + " M" : number(n);
}

function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

// A run's keys and write ids carry its tag (`private-e4f2e01c-p6`, `8139e974-u6-2`): the tag
// tells runs apart in the database, the rest is what a person reads.
function shortKey(key) { return String(key).replace(/^(?:[A-Za-z0-9_-]*-)?[0-9a-f]{8}-/, ""); }
function shortWrite(id) { return String(id).replace(/^(?:[A-Za-z0-9_-]*-)?[0-9a-f]{8}-/, ""); }

function setConnection(ok, text) {
  state.connected = ok;
  const node = $("connection");
  node.className = "status " + (ok ? "good" : "bad");
  setText(node, text);
}

// Across the page, not a pill: the audience must not read an old stack as the current one.
function setStopped(title, detail) {
  const box = $("stopped");
  if (title === null) { box.hidden = true; return; }
  if (box.hidden) state.stoppedShown += 1;
  setText($("stopped-title"), title);
  $("stopped-detail").replaceChildren(...detail);
  box.hidden = false;
}

const RECONNECT_WORDS = () => ["This page reconnects by itself to the next ",
  el("code", {}, "lbdemo up --dashboard"), " of the same state root."];

// -- the stream ---------------------------------------------------------------------------------

async function follow(generation) {
  while (generation === state.generation) {  // a newer token starts a newer loop
    try {
      const response = await fetch("events", { headers: { Authorization: "Bearer " + state.token } });
      if (response.status === 401) {
        setConnection(false, "token refused");
        setStopped("This link's token is refused", ["Open the link the last ",
          el("code", {}, "lbdemo up --dashboard"), " printed."]);
        return;
      }
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      setConnection(true, "live");
      // The server sends its recent log again on every connection: start the list afresh.
      $("log").replaceChildren();
      await readEvents(response.body.getReader(), generation);
    } catch (error) {
      // the server went away (the stack stopped, the demo ended): try again shortly
    }
    if (generation !== state.generation) return;
    setConnection(false, "reconnecting…");
    setStopped("The stack stopped", ["Nothing answers on this address now. ", ...RECONNECT_WORDS()]);
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
  if (snap.generation && state.generationSeen && snap.generation !== state.generationSeen) {
    // A new `lbdemo up` on the same address: nothing of the old stack may stay on the page.
    state.resets += 1;
    $("cards").replaceChildren();
    state.local = null;
    clearKey();
  }
  if (snap.generation) state.generationSeen = snap.generation;
  const stack = snap.stack;
  $("replay").hidden = !snap.replay;
  document.body.classList.toggle("replaying", !!snap.replay);
  if (!stack && !snap.replay) {
    setStopped("No stack is running", ["The last one stopped. ", ...RECONNECT_WORDS()]);
  } else {
    setStopped(null);
  }
  // a store beyond PostgreSQL: which engine and read mode serve every read
  const served = stack && stack.store && stack.store !== "postgres"
    ? ` · reads: ${stack.store} ${stack.read_mode}` : "";
  setText($("stack"), stack ? `${stack.summary}${served} · balancer ${stack.balancer}` : "no stack running");
  const counts = snap.counts || {};
  const load = counts.load || {};
  setText($("count-rps"), counts.rps === undefined || counts.rps === null ? "–" : Number(counts.rps).toFixed(0));
  setText($("count-requests"), figure(counts.requests));
  const reads = load.reads !== null && load.reads !== undefined;
  setText($("count-reads"), figure(reads ? load.reads : load.ops));
  setText($("count-reads-label"), reads ? "reads (load)" : "operations (load)");
  const verdict = snap.verdict || deriveVerdict(load);
  // Once a load finished, the checker's count (the verdict's) replaces the live one.
  const stale = verdict.state === "finished" && verdict.stale_reads !== null ? verdict.stale_reads : load.stale_reads;
  setText($("count-stale"), figure(stale));
  $("count-stale").parentElement.classList.toggle("hot", (stale || 0) > 0);
  const lost = load.lost_writes ?? verdict.lost_writes;
  setText($("count-lost"), figure(lost));
  $("count-lost").parentElement.classList.toggle("hot", (lost || 0) > 0);
  setText($("count-divergent"), number(counts.divergent_keys));
  $("count-divergent").parentElement.classList.toggle("hot", (counts.divergent_keys || 0) > 0);
  const compared = counts.keys_compared ?? counts.keys;
  setText($("count-divergent-label"), compared === undefined || compared === null
    ? "divergent keys" : `divergent keys of ${number(compared)}`);
  renderVerdict(verdict);
  const up = snap.upgrade;
  setText($("upgrade"), up && up.already ? `already on ${up.image}` : `upgrade to ${up ? up.image : "lbdemo/catalog:1.1"}`);
  renderRotation(snap.rotation || []);
  renderCards(snap.replicas || []);
  renderSeries(snap.series || localSeries(load));
  renderKey(snap.key || null);
}

// The verdict from the older snapshot's fields: no load, or a load's live stale reads.
function deriveVerdict(load) {
  if (load.stale_reads === null || load.stale_reads === undefined) {
    return { state: "idle", text: "no load yet", stale_reads: null };
  }
  return { state: "running", text: load.stale_reads > 0 ? "INCONSISTENT" : "consistent so far",
           stale_reads: load.stale_reads, source: "load" };
}

const SOURCES = { load: "lbdemo load", web: "Locust's web UI", demo: "lbdemo demo", replay: "replay" };

function renderVerdict(v) {
  const box = $("verdict");
  const text = v.text || "no load yet";
  const bad = /^inconsistent/i.test(text);
  const cls = v.state === "idle" ? "idle" : bad ? "bad" : v.state === "finished" ? "ok" : "running";
  box.className = "verdict " + cls;
  box.dataset.state = v.state || "idle";
  const source = SOURCES[v.source] || v.source || "";
  const where = v.state === "idle" ? "the verdict"
    : v.state === "finished" ? `${source} · finished` : `${source} · running`;
  setText($("verdict-source"), where);
  $("verdict").title = v.label || "";
  setText($("verdict-text"), v.state === "idle" ? "no load yet" : text);
  let detail;
  if (v.state === "idle") detail = "start one: lbdemo load";
  else {
    const stale = v.stale_reads === null || v.stale_reads === undefined ? "–" : number(v.stale_reads);
    detail = `${stale} stale read${v.stale_reads === 1 ? "" : "s"}`;
    if (v.lost_writes !== null && v.lost_writes !== undefined) {
      detail += ` · ${number(v.lost_writes)} lost write${v.lost_writes === 1 ? "" : "s"}`;
    }
  }
  setText($("verdict-detail"), detail);
  const link = $("verdict-report");
  const url = v.report && v.report.url;
  link.hidden = !url;
  if (url && link.getAttribute("href") !== url) link.setAttribute("href", url);
}

function renderRotation(rotation) {
  const list = $("rotation");
  const key = rotation.map((r) => r.name + ":" + r.state).join(",");
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  state.rotations.push(rotation.filter((r) => r.state === "up").map((r) => r.name));
  if (state.rotations.length > 100) state.rotations.shift();
  list.replaceChildren(...rotation.map((r) =>
    el("li", { class: r.state, "data-name": r.name },
      r.name.replace(/^lbdemo-/, "") + (r.state === "up" ? "" : ` (${r.state})`))));
}

function cardKey(replica) { return replica.dead ? `${replica.name}#dead#${replica.id}` : replica.name; }

function renderCards(replicas) {
  const box = $("cards");
  const wanted = [];
  const now = performance.now();
  // A dead container beside its running replacement is one card, the replacement's, that says
  // both: six replicas stay six cards (two rows of three) through a kill.
  const running = new Set(replicas.filter((r) => !r.dead).map((r) => r.name));
  const deaths = new Map(replicas.filter((r) => r.dead && running.has(r.name)).map((r) => [r.name, r]));
  for (const replica of replicas) {
    if (replica.dead && !state.deadShown.includes(replica.name)) state.deadShown.push(replica.name);
    if (replica.dead && running.has(replica.name)) continue;
    const key = cardKey(replica);
    let card = box.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!card) card = makeCard(replica.name, key);
    wanted.push(card);
    if (card.dataset.id && card.dataset.id !== replica.id && !replica.dead) {
      card.dataset.freshUntil = String(now + FRESH_MS); // a replacement: show it arriving
      if (!state.freshShown.includes(replica.name)) state.freshShown.push(replica.name);
    }
    card.dataset.id = replica.id;
    const death = deaths.get(replica.name);
    card.classList.toggle("fresh", !death && Number(card.dataset.freshUntil || 0) > now);
    card.classList.toggle("reborn", !!death);
    card.classList.toggle("sick", replica.health !== "healthy");
    card.classList.toggle("out", replica.rotation !== "up");
    card.classList.toggle("dead", !!replica.dead);
    for (const button of card.querySelectorAll("button")) button.disabled = !!replica.dead;
    const image = String(replica.image || "").replace(/^lbdemo\//, "");
    const rows = replica.rows === null || replica.rows === undefined ? "–" : number(replica.rows);
    const exit = (r) => String(r.health).replace(/^died, /, "").replace("exit status", "exit");
    const fields = replica.dead ? {
      health: "dead",
      state: replica.health,
      load: "waiting for its replacement",
      id: `container ${replica.id}`,
    } : {
      health: death ? "replaced" : replica.health,
      state: `${replica.rotation} · ${Number(replica.rps || 0).toFixed(0)} req/s`,
      load: `${rows} row${replica.rows === 1 ? "" : "s"} · ${image}`,
      id: death ? `killed, ${exit(death)}` : replica.id,
    };
    const idLine = card.querySelector('[data-field="id"]');
    idLine.classList.toggle("was", !!death);
    idLine.title = death ? `the killed container was ${death.id}; ${replica.id} replaced it` : "";
    for (const [name, text] of Object.entries(fields)) {
      setText(card.querySelector(`[data-field="${name}"]`), String(text));
    }
  }
  // The server's order, in place: only moved when it changed (no flicker on every sample).
  const current = [...box.children];
  if (current.length !== wanted.length || current.some((c, i) => c !== wanted[i])) {
    box.replaceChildren(...wanted);
  }
}

function makeCard(name, key) {
  const kill = el("button", { type: "button", class: "danger", "data-action": "kill" }, "kill");
  const remove = el("button", { type: "button", "data-action": "remove" }, "remove");
  kill.addEventListener("click", () => act(kill, "POST", `api/replicas/${encodeURIComponent(name)}/kill`,
    `killed ${name}: watch it leave and be replaced`));
  remove.addEventListener("click", () => act(remove, "DELETE", `api/replicas/${encodeURIComponent(name)}`,
    `removed ${name}`));
  return el("div", { class: "card", "data-name": name, "data-key": key },
    el("h3", {}, el("span", {}, name), el("span", { class: "health", "data-field": "health" })),
    el("div", { class: "line", "data-field": "state" }),
    el("div", { class: "line", "data-field": "load" }),
    el("div", { class: "line dim", "data-field": "id" }),
    el("div", { class: "buttons" }, kill, remove));
}

function addLog(entry) {
  state.logLines += 1;
  const log = $("log");
  const line = String(entry.line);
  // The moments the audience should not miss stand out: a death, and its replacement.
  const cls = /\bdied\b|\bkilled\b/.test(line) ? "alarm" : /replaced:|\bupgrade/.test(line) ? "news" : "";
  log.prepend(el("li", { class: cls, title: line }, el("time", {}, entry.time), line));
  while (log.children.length > LOG_LIMIT) log.lastChild.remove();
}

// -- stale reads over time ----------------------------------------------------------------------

// Without the server's series: one point per snapshot from the load's running totals.
function localSeries(load) {
  if (load.elapsed_s === null || load.elapsed_s === undefined || load.stale_reads === null ||
      load.stale_reads === undefined) return state.local ? state.local.view : null;
  let local = state.local;
  if (!local || load.elapsed_s < local.lastT) {  // a new run: the last one becomes "previous"
    const previous = local ? local.view.current : null;
    local = state.local = { lastT: 0, lastStale: 0, view: { current: { label: "this run", t_s: [], stale_reads_per_s: [] }, previous } };
  }
  if (load.elapsed_s > local.lastT) {
    const rate = (load.stale_reads - local.lastStale) / (load.elapsed_s - local.lastT);
    local.view.current.t_s.push(load.elapsed_s);
    local.view.current.stale_reads_per_s.push(Math.max(0, rate));
    local.lastT = load.elapsed_s;
    local.lastStale = load.stale_reads;
  }
  return local.view;
}

function chartData(series) {
  const cur = series && series.current;
  const prev = series && series.previous;
  const tables = [];
  tables.push(cur && cur.t_s.length ? [cur.t_s, cur.stale_reads_per_s] : [[0], [null]]);
  tables.push(prev && prev.t_s.length ? [prev.t_s, prev.stale_reads_per_s] : [[0], [null]]);
  return uPlot.join(tables);
}

function chartSize() {
  const box = $("chart-stale");
  return { width: Math.max(200, box.clientWidth), height: Math.max(100, box.clientHeight) };
}

function renderSeries(series) {
  if (typeof uPlot === "undefined") return;
  const key = JSON.stringify(series ? [series.current && series.current.t_s.length,
    series.previous && series.previous.t_s.length, series.current && series.current.label] : null);
  const name = (run, otherwise) => run && run.label ? shortKey(run.label) : otherwise;
  setText($("legend-current"), name(series && series.current, "this run"));
  setText($("legend-previous"), name(series && series.previous, "previous run"));
  if (state.chart && state.chartKey === key) return;
  state.chartKey = key;
  const data = chartData(series);
  if (state.chart) { state.chart.setData(data); return; }
  const axis = { stroke: "#f0f3f6", font: "16px system-ui, sans-serif",
                 grid: { stroke: "#30363d", width: 1 }, ticks: { stroke: "#30363d", width: 1 } };
  state.chart = new uPlot({
    ...chartSize(),
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{ ...axis, size: 30 }, { ...axis, size: 48 }],
    series: [{}, { label: "this run", stroke: "#ff7b72", width: 3, fill: "rgba(255,123,114,0.18)" },
             { label: "previous run", stroke: "#8b949e", width: 2, dash: [6, 4] }],
  }, data, $("chart-stale"));
}

// Charts follow the window: the box is sized by CSS, the canvas follows the box.
function watchSize() {
  const observer = new ResizeObserver(() => {
    if (state.chart) {
      const size = chartSize();
      if (size.width !== state.chart.width || size.height !== state.chart.height) state.chart.setSize(size);
    }
  });
  observer.observe($("chart-stale"));
}

// -- one key on every replica -------------------------------------------------------------------

function clearKey() {
  state.keySignature = null;
  $("lookup-result").hidden = true;
  $("key-empty").hidden = false;
  setText($("key-title"), "One key on every replica");
}

function renderKey(key) {
  if (!key) return;  // a server that does not follow a key: the look-up box only
  if (!key.key) { if (state.keySignature) clearKey(); return; }
  // Just asked for a key: the server follows it from its next sample on, not this one.
  if (state.asked && key.key !== state.asked.key && performance.now() < state.asked.until) return;
  const title = (key.chosen === "asked" ? "" : "hottest: ") + `${shortKey(key.key)} on each replica`;
  setText($("key-title"), title);
  $("key-title").title = key.key;
  const rows = key.replicas || [];
  const signature = key.key + "|" + rows.map((r) => `${r.replica || r.name}=${r.status}:${r.price}:${r.write_id}`).join(",");
  if (signature === state.keySignature) return;
  state.keySignature = signature;
  // The server asks every replica as `lbdemo get KEY --each-replica` does; an older one only
  // listed write ids, and the look-up fills in the rest.
  if (rows.length && rows.every((r) => "status" in r)) showRows(key.key, rows);
  else showLookup(key.key, false);
}

// Returns whether every replica that answered gives the same answer.
function showRows(key, found) {
  const answer = (r) => r.status === 200 ? `${r.price}|${r.write_id}` : r.status === 404 ? "absent" : "?";
  const answers = found.map(answer);
  const common = answers.every((a) => a === answers[0]);
  const rows = found.map((r) => el("tr", {},
    el("td", {}, r.replica || r.asked),
    el("td", { class: r.status === 404 ? "absent" : common ? "" : "differs" },
      r.status === 200 ? number(r.price) : r.status === 404 ? "not there" : "no answer"),
    el("td", {}, r.write_id ? shortWrite(r.write_id) : "")));
  $("lookup-result").querySelector("tbody").replaceChildren(...rows);
  $("lookup-result").hidden = false;
  $("key-empty").hidden = true;
  $("lookup-result").dataset.key = key;
  return common;
}

async function showLookup(key, say) {
  try {
    const body = await call("GET", `api/lookup/${encodeURIComponent(key)}`);
    state.lookups += 1;
    const common = showRows(key, body.rows);
    if (say) say_(common ? `${key}: the replicas agree` : `${key}: the replicas disagree`, !common);
  } catch (error) {
    if (say) say_(error.message, true);
  }
}

async function lookup(event) {
  event.preventDefault();
  const key = $("lookup-key").value.trim();
  if (!key) return;
  setText($("key-title"), `${shortKey(key)} on each replica`);
  state.asked = { key, until: performance.now() + 3000 };
  // Follow that key live from now on, where the server follows one (its snapshots say `key`).
  if (state.last && "key" in state.last) call("PUT", `api/key/${encodeURIComponent(key)}`).catch(() => {});
  await showLookup(key, true);
}

// -- moves --------------------------------------------------------------------------------------

async function call(method, path) {
  const response = await fetch(path, { method, headers: { Authorization: "Bearer " + state.token } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function say_(text, isError) {
  const node = $("action-status");
  node.className = "action-status" + (isError ? " error" : "");
  node.textContent = text;
}

async function act(button, method, path, done) {
  button.disabled = true;
  say_("…");
  try {
    const body = await call(method, path);
    say_(typeof done === "function" ? done(body) : done);
  } catch (error) {
    say_(error.message, true);
  } finally {
    button.disabled = false;
  }
}

function start() {
  state.token = takeToken();
  $("add").addEventListener("click", () => act($("add"), "POST", "api/replicas", "a replica joined"));
  $("upgrade").addEventListener("click", () => {
    const up = state.last && state.last.upgrade;
    if (up && up.already) { say_(`every replica already runs ${up.image}`); return; }
    act($("upgrade"), "POST", "api/upgrade", "upgrade done: every replica runs lbdemo/catalog:1.1");
  });
  $("lookup-form").addEventListener("submit", lookup);
  // The link pasted into a tab already on this page only changes the fragment: no reload.
  window.addEventListener("hashchange", () => {
    const had = state.token;
    state.token = takeToken();
    if (state.token && state.token !== had) connect();
  });
  watchSize();
  renderSeries(null);
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
