"use strict";
// The report page: charts from the per-second series, the per-key value chart and the
// per-client timeline from the operation columns. window.LBDEMO exposes state for tests.
(async function () {
  const D = await LB.decode("lbdemo-data");
  const api = window.LBDEMO = {ready: false, charts: {}};
  const O = D.ops;
  const n = O.inv.length;
  const unit = D.time_unit_s;

  // Absolute op times in seconds from the first invocation.
  const inv = new Float64Array(n), comp = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) { acc += O.inv[i]; inv[i] = acc * unit; comp[i] = (acc + O.dur[i]) * unit; }
  // Write ids: one per write, in op order.
  const widOf = new Array(n);
  for (let i = 0, w = 0; i < n; i++) if (O.kind[i] >= 3) widOf[i] = O.wid[w++];
  const isWrite = function (i) { return O.kind[i] >= 3; };
  const outcome = function (i) { return ["ok", "fail", "unknown"][O.kind[i] % 3]; };
  const repColor = function (r) { return r < 0 ? "#b0b0b0" : LB.palette[r % LB.palette.length]; };

  // Anomalies per offending op (an op may be the offender of several kinds).
  const A = D.anomalies;
  const byOp = new Map();
  A.op.forEach(function (opIndex, a) {
    if (opIndex < 0) return;
    if (!byOp.has(opIndex)) byOp.set(opIndex, []);
    byOp.get(opIndex).push(a);
  });
  const marked = Array.from(byOp.keys()).sort(function (a, b) { return inv[a] - inv[b]; });

  // ---- rate, latency and replica charts ---------------------------------------------------
  const ratesEl = document.getElementById("chart-rates");
  api.charts.rates = LB.ratesChart(ratesEl, D.series, D.kinds, D.kind_labels, D.periods);
  const pair = {width: Math.max(300, (LB.width(document.querySelector(".pair")) - 30) / 2)};
  if (D.replication) {
    const rep = D.replication;
    const names = Object.keys(rep.series.standbys);
    const specs = [{label: "seconds"}].concat(names.map(function (name, i) {
      return {label: name + " replay_lag ms", stroke: LB.palette[i % LB.palette.length], width: 2,
              spanGaps: false, points: {show: rep.series.t_s.length < 200}};
    }));
    const data = [rep.series.t_s].concat(names.map(function (name) { return rep.series.standbys[name]; }));
    document.getElementById("replication").hidden = false;
    api.charts.replication = LB.chart(document.getElementById("chart-replication"), specs, data, "ms", D.periods,
                                      {xMax: D.series.t_s.length ? D.series.t_s[D.series.t_s.length - 1] + 1 : undefined});
  }
  api.charts.latency = LB.latencyChart(document.getElementById("chart-latency"), D.series, D.periods, pair);
  api.charts.replicas = LB.replicaChart(document.getElementById("chart-replicas"), D.series, D.replicas, D.periods, pair);

  // ---- legend ---------------------------------------------------------------------------
  const legend = document.getElementById("legend-replicas");
  D.replicas.forEach(function (name, r) {
    const s = document.createElement("span");
    s.innerHTML = '<i style="background:' + repColor(r) + '"></i>';
    s.appendChild(document.createTextNode(name));
    legend.appendChild(s);
  });
  const none = document.createElement("span");
  none.innerHTML = '<i style="background:#b0b0b0"></i>no replica';
  legend.appendChild(none);
  const anomalyLegend = document.createElement("span");
  anomalyLegend.innerHTML = '<i style="background:#d62728"></i>anomaly';
  legend.appendChild(anomalyLegend);

  // ---- the value each replica holds for one key -----------------------------------------
  const keySelect = document.getElementById("key-select");
  // The key of most anomalies first: where the story is.
  const perKey = D.keys.map(function () { return 0; });
  A.op.forEach(function (opIndex) { if (opIndex >= 0) perKey[O.key[opIndex]]++; });
  const keyOrder = D.keys.map(function (k, i) { return i; })
    .sort(function (a, b) { return perKey[b] - perKey[a] || a - b; });
  keyOrder.forEach(function (ki) {
    const k = D.keys[ki];
    const o = document.createElement("option");
    o.value = k;
    o.textContent = LB.keyName(k) + " · " + perKey[ki].toLocaleString("en-US") + " anomal" + (perKey[ki] === 1 ? "y" : "ies");
    o.title = "key " + k;
    keySelect.appendChild(o);
  });
  if (D.default_key) keySelect.value = D.default_key;
  const keyEl = document.getElementById("chart-key");

  // Per key: every value a replica served (a read) or stored (a write), as points, over the
  // staircase of the latest acknowledged write. Points off the staircase are a replica holding
  // something else: with private storage they scatter; with shared storage they sit on it (a
  // read overlapping a write may show either value, so a point can sit one step behind).
  function keyData(key) {
    const ki = D.keys.indexOf(key);
    const R = D.replicas.length;
    const idx = [];
    for (let i = 0; i < n; i++) {
      if (O.key[i] !== ki || O.kind[i] % 3 !== 0) continue;  // only ops that took effect
      idx.push(i);
    }
    idx.sort(function (a, b) { return comp[a] - comp[b]; });
    const xs = [], latest = [], ys = [];
    for (let r = 0; r < R; r++) ys.push([]);
    let current = null, observations = 0;
    for (const i of idx) {
      if (isWrite(i)) current = O.price[i];
      if (O.rep[i] < 0) continue;
      // A read that found nothing is a gap (null); no observation is undefined (spanned).
      const v = (!isWrite(i) && O.val[i] === -1) ? null : O.price[i];
      xs.push(comp[i]);
      latest.push(current);
      for (let r = 0; r < R; r++) ys[r].push(r === O.rep[i] ? v : undefined);
      observations++;
    }
    const data = [xs, latest].concat(ys);
    // The final audit, a little after the end of the run.
    const audited = D.audit.filter(function (row) { return row[1] === key; });
    if (audited.length) {
      xs.push(D.span_s * 1.01 + 0.01);
      latest.push(current);
      for (let r = 0; r < R; r++) {
        const row = audited.find(function (x) { return x[0] === D.replicas[r]; });
        ys[r].push(row ? row[3] : undefined);
      }
    }
    const finals = audited.map(function (row) { return row[0] + ": " + (row[2] === null ? "nothing" : LB.fmt(row[3], 0)); });
    return {data: data, observations: observations, finals: finals};
  }

  function drawKey(key) {
    const kd = keyData(key);
    if (api.charts.key) api.charts.key.destroy();
    const series = [{label: "seconds"},
      {label: "latest acknowledged write", stroke: "#555", width: 1.5, dash: [5, 3],
       paths: uPlot.paths.stepped({align: 1}), points: {show: false}}];
    D.replicas.forEach(function (name, r) {
      series.push({label: name, stroke: repColor(r), fill: repColor(r), width: 0,
                   paths: function () { return null; }, points: {show: true, size: 7, fill: repColor(r)}});
    });
    api.charts.key = new uPlot({
      width: LB.width(keyEl), height: 300,
      scales: {x: {time: false}},
      axes: [{label: "seconds into the run (last point: final audit)"}, {label: "price", size: 70}],
      series: series,
      plugins: [LB.periodsPlugin(D.periods)],
    }, kd.data, keyEl);
    // The whole run, to the final audit: the replicas drift apart over time (private storage)
    // or stay on the staircase (shared). Drag to zoom, double-click for the whole run again.
    keyEl.dataset.key = key;
    keyEl.dataset.points = String(kd.observations);
    document.getElementById("key-summary").textContent = LB.keyName(key) + " (key " + key + "): " +
      kd.observations.toLocaleString("en-US") + " values observed" +
      (kd.finals.length ? "; at the end " + kd.finals.join(", ") : "; no final audit");
  }
  keySelect.addEventListener("change", function () { drawKey(keySelect.value); });
  if (D.keys.length) drawKey(keySelect.value);

  // ---- the timeline -------------------------------------------------------------------------
  const canvas = document.getElementById("timeline");
  const wrap = document.getElementById("timeline-wrap");
  const tip = document.getElementById("tl-tip");
  const detail = document.getElementById("tl-detail");
  const C = D.clients.length;
  const rowH = Math.max(3, Math.min(20, Math.floor(480 / Math.max(1, C))));
  const left = rowH >= 9 ? 70 : 10, top = 22;
  const cssW = LB.width(wrap), cssH = top + rowH * C + 6;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = cssW * dpr; canvas.height = cssH * dpr;
  canvas.style.height = cssH + "px";
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const plotW = cssW - left - 10;

  // Each client's ops in invocation order (a client runs one op at a time).
  const rows = [];
  for (let c = 0; c < C; c++) rows.push([]);
  for (let i = 0; i < n; i++) rows[O.cli[i]].push(i);
  const span = Math.max(D.span_s, 1e-3);
  const view = {from: 0, to: span, pinned: -1};
  const xOf = function (t) { return left + (t - view.from) / (view.to - view.from) * plotW; };
  const tOf = function (x) { return view.from + (x - left) / plotW * (view.to - view.from); };

  function firstEnding(row, t) {  // first op of the row that completes at or after t
    let lo = 0, hi = row.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (comp[row[mid]] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  function draw() {
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.font = "14px sans-serif";
    ctx.fillStyle = "#444";
    // Time axis.
    const step = niceStep((view.to - view.from) / 8);
    for (let t = Math.ceil(view.from / step) * step; t <= view.to; t += step) {
      const x = xOf(t);
      ctx.fillStyle = "#eee"; ctx.fillRect(x, top, 1, rowH * C);
      ctx.fillStyle = "#444"; ctx.fillText(t.toFixed(step < 0.01 ? 3 : step < 0.1 ? 2 : step < 1 ? 1 : 0) + " s", x + 2, 14);
    }
    for (let c = 0; c < C; c++) {
      const y = top + c * rowH;
      if (left > 10) { ctx.fillStyle = "#444"; ctx.fillText(D.clients[c], 4, y + rowH - 4); }
      const row = rows[c];
      for (let j = firstEnding(row, view.from); j < row.length; j++) {
        const i = row[j];
        if (inv[i] > view.to) break;
        const x0 = Math.max(left, xOf(inv[i])), x1 = Math.min(left + plotW, xOf(comp[i]));
        const w = Math.max(1, x1 - x0);
        const failed = O.kind[i] % 3 === 1;
        ctx.fillStyle = failed ? "#b0b0b0" : repColor(O.rep[i]);
        if (isWrite(i)) ctx.fillRect(x0, y + 1, w, rowH - 2);
        else ctx.fillRect(x0, y + Math.floor(rowH * 0.3), w, Math.max(1, Math.ceil(rowH * 0.4)));
      }
    }
    // Anomaly marks on top: a red triangle over the op and a red outline.
    ctx.fillStyle = "#d62728"; ctx.strokeStyle = "#d62728";
    const marks = visibleMarks();
    if (marks.length > plotW / 8) {
      // Too many for a triangle each: a red block per few pixels of each client's row, as tall
      // as the row, so that a room sees where the anomalies are at any zoom (hover still finds
      // each one).
      const seen = new Set();
      for (const i of marks) {
        const x = Math.round(markPoint(i).x);
        const id = O.cli[i] * 1000000 + (x >> 1);
        if (seen.has(id)) continue;
        seen.add(id);
        ctx.fillRect(x - 2, top + O.cli[i] * rowH, 4, rowH);
      }
      marks.length = 0;
    }
    ctx.lineWidth = 2;
    for (const i of marks) {
      const p = markPoint(i);
      ctx.beginPath(); ctx.moveTo(p.x - 6, p.y - 7); ctx.lineTo(p.x + 6, p.y - 7); ctx.lineTo(p.x, p.y + 3); ctx.fill();
      ctx.strokeRect(Math.max(left, xOf(inv[i])) - 1, top + O.cli[i] * rowH + 1,
                     Math.max(1, xOf(comp[i]) - xOf(inv[i])) + 2, rowH - 2);
    }
    ctx.lineWidth = 1;
    if (view.pinned >= 0) drawWitnesses(view.pinned);
    document.getElementById("tl-range").textContent = view.from.toFixed(3) + " s – " + view.to.toFixed(3) + " s of " + span.toFixed(3) + " s";
    syncControls();
  }

  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  function visibleMarks() {
    const out = [];
    for (const i of marked) if (comp[i] >= view.from && inv[i] <= view.to) out.push(i);
    return out;
  }
  function markPoint(i) {  // canvas CSS pixels of the anomaly mark of op i
    const x = (Math.max(left, xOf(inv[i])) + Math.min(left + plotW, xOf(comp[i]))) / 2;
    return {x: x, y: top + O.cli[i] * rowH + Math.min(5, rowH / 2)};
  }

  function drawWitnesses(i) {
    const list = byOp.get(i) || [];
    ctx.save();
    ctx.strokeStyle = "#222"; ctx.lineWidth = 1.5; ctx.setLineDash([4, 3]);
    const from = markPoint(i);
    for (const a of list) for (const w of A.wit[a]) {
      if (w < 0) continue;
      const to = {x: (xOf(inv[w]) + xOf(comp[w])) / 2, y: top + O.cli[w] * rowH + rowH / 2};
      ctx.beginPath(); ctx.moveTo(from.x, from.y); ctx.lineTo(to.x, to.y); ctx.stroke();
      ctx.strokeRect(xOf(inv[w]) - 1, top + O.cli[w] * rowH, Math.max(2, xOf(comp[w]) - xOf(inv[w]) + 2), rowH);
    }
    ctx.restore();
  }

  // What happened, in words a room can follow: prices, products, clients and replicas, times in
  // seconds; no write ids (the checker's exact sentence is in the pinned detail).
  const secs = function (t) { return t.toFixed(3) + " s"; };
  const price = function (j) {
    if (!isWrite(j) && O.val[j] === -1) return "nothing (not found)";
    return O.price[j] === null ? "an unreadable value" : LB.fmt(O.price[j], 0);
  };
  const via = function (j) { return O.rep[j] >= 0 ? D.replicas[O.rep[j]] : "no replica"; };
  function plain(a) {
    const i = A.op[a], wit = A.wit[a].filter(function (w) { return w >= 0; });
    const who = D.clients[O.cli[i]], product = LB.keyName(D.keys[O.key[i]]);
    const asked = who + " read the price of " + product + " at " + secs(inv[i]) + " and " + via(i) +
      " answered " + price(i);
    const kind = D.kinds[A.kind[a]];
    if (kind === "stale_read" && wit.length) {
      const n = wit[wit.length - 1];
      return "Stale read: " + asked + ", though " + price(n) + " had been written (by " +
        D.clients[O.cli[n]] + " via " + via(n) + ", done at " + secs(comp[n]) + ") before the read began.";
    }
    if (kind === "read_your_writes" && wit.length) {
      const mine = wit[0];
      return "Read your own write failed: " + who + " had written " + price(mine) + " for " + product +
        " (done at " + secs(comp[mine]) + "), then read it at " + secs(inv[i]) + " and " + via(i) +
        " answered " + price(i) + ".";
    }
    if (kind === "monotonic_read" && wit.length >= 2) {
      const earlier = wit[0];
      return "Time went backwards: " + who + " had already seen " + price(earlier) + " for " + product +
        " from " + via(earlier) + " at " + secs(inv[earlier]) + ", then " + via(i) + " answered the older " +
        price(i) + " at " + secs(inv[i]) + ".";
    }
    if (kind === "garbage_read") {
      return "Impossible value: " + asked + ", a value no successful write made.";
    }
    if (kind === "lost_write") {
      return "Lost write: " + who + " wrote " + price(i) + " for " + product + ", acknowledged by " + via(i) +
        " at " + secs(comp[i]) + ", but no replica held it at the end.";
    }
    return D.kind_labels[A.kind[a]] + ": " + asked + ".";
  }

  function describe(i) {
    const value = isWrite(i) ? widOf[i] : (O.val[i] === -1 ? "not found" : O.val[i] >= 0 ? widOf[O.val[i]] : "an unknown write id");
    const head = D.clients[O.cli[i]] + " " + (isWrite(i) ? "wrote" : "read") + " " + D.keys[O.key[i]] +
      " = " + (O.price[i] === null ? "–" : LB.fmt(O.price[i], 0)) + " (" + value + ") via " +
      (O.rep[i] >= 0 ? D.replicas[O.rep[i]] : "no replica") + ", " + outcome(i) + ", t=" +
      inv[i].toFixed(3) + "–" + comp[i].toFixed(3) + " s";
    const sentences = (byOp.get(i) || []).map(function (a) { return D.kind_labels[A.kind[a]] + ": " + A.text[a]; });
    return {head: head, sentences: sentences};
  }

  function hit(x, y) {  // the op under (x, y): anomaly marks first, then the bar under the pointer
    let best = -1, bestD = 8;
    for (const i of visibleMarks()) {
      const p = markPoint(i);
      const d = Math.hypot(p.x - x, p.y - y);
      if (d < bestD) { best = i; bestD = d; }
    }
    if (best >= 0) return best;
    const c = Math.floor((y - top) / rowH);
    if (c < 0 || c >= C) return -1;
    const t = tOf(x), slack = 3 * (view.to - view.from) / plotW;
    const row = rows[c];
    for (let j = firstEnding(row, t - slack); j < row.length && inv[row[j]] <= t + slack; j++) return row[j];
    return -1;
  }

  // The tooltip: plain words only. The pinned detail adds the checker's exact sentences.
  function tipText(i) {
    const found = byOp.get(i);
    if (found) return found.map(plain).join("\n");
    const product = LB.keyName(D.keys[O.key[i]]);
    return D.clients[O.cli[i]] + (isWrite(i) ? " wrote " + price(i) + " for " : " read ") + product +
      (isWrite(i) ? "" : ": " + price(i)) + " via " + via(i) + ", " + outcome(i) + ", " +
      secs(inv[i]) + " to " + secs(comp[i]);
  }
  function show(el, i) {
    const d = describe(i);
    if (el === tip) el.textContent = tipText(i);
    else el.textContent = tipText(i) + "\n\n" + d.head + (d.sentences.length ? "\n" + d.sentences.join("\n") : "");
    el.classList.toggle("anomaly", d.sentences.length > 0);
  }

  let drag = null;
  canvas.addEventListener("mousemove", function (e) {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    if (drag) {
      const dt = (drag.x - x) / plotW * (view.to - view.from);
      setWindow(drag.from + dt, drag.to + dt);
      return;
    }
    const i = hit(x, y);
    if (i < 0) { tip.hidden = true; return; }
    show(tip, i);
    tip.hidden = false;
    tip.style.left = Math.max(0, Math.min(x + 14, cssW - 560)) + "px";
    tip.style.top = (y + 16) + "px";
  });
  canvas.addEventListener("mouseleave", function () { tip.hidden = true; drag = null; });
  canvas.addEventListener("mousedown", function (e) {
    const r = canvas.getBoundingClientRect();
    drag = {x: e.clientX - r.left, y: e.clientY - r.top, from: view.from, to: view.to, moved: false};
  });
  canvas.addEventListener("mouseup", function (e) {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const wasClick = drag && Math.abs(drag.x - x) < 3;
    drag = null;
    if (!wasClick) return;
    const i = hit(x, y);
    pin(i);
  });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    const t = tOf(e.clientX - r.left);
    const f = e.deltaY > 0 ? 1.25 : 0.8;
    setWindow(t - (t - view.from) * f, t + (view.to - t) * f);
  }, {passive: false});

  function pin(i) {
    view.pinned = i;
    if (i >= 0) show(detail, i); else { detail.textContent = "Click an operation to see it here."; detail.classList.remove("anomaly"); }
    draw();
  }

  function setWindow(from, to) {
    let w = Math.min(span, Math.max(1e-3, to - from));
    from = Math.max(0, Math.min(from, span - w));
    view.from = from; view.to = from + w;
    draw();
  }

  // Controls: window width, start, previous/next anomaly.
  const widthSel = document.getElementById("tl-width");
  const widths = [0.05, 0.2, 0.5, 1, 2, 5, 10, 30, 60].filter(function (w) { return w < span; });
  widths.push(span);
  widths.forEach(function (w) {
    const o = document.createElement("option");
    o.value = String(w); o.textContent = w === span ? "whole run" : w + " s";
    widthSel.appendChild(o);
  });
  const startIn = document.getElementById("tl-start");
  widthSel.addEventListener("change", function () {
    const w = Number(widthSel.value), mid = (view.from + view.to) / 2;
    setWindow(mid - w / 2, mid + w / 2);
  });
  startIn.addEventListener("input", function () {
    const w = view.to - view.from;
    const from = Number(startIn.value) / 1000 * (span - w);
    setWindow(from, from + w);
  });
  function syncControls() {
    const w = view.to - view.from;
    startIn.value = String(span - w > 0 ? Math.round(view.from / (span - w) * 1000) : 0);
    const match = widths.find(function (x) { return Math.abs(x - w) < 1e-9; });
    widthSel.value = match === undefined ? "" : String(match);
  }
  function goTo(i) {
    const w = view.to - view.from;
    const mid = (inv[i] + comp[i]) / 2;
    setWindow(mid - w / 2, mid + w / 2);
    pin(i);
  }
  function step(dir) {
    if (!marked.length) return;
    const ref = view.pinned >= 0 ? inv[view.pinned] : (dir > 0 ? view.from : view.to);
    let target = -1;
    if (dir > 0) target = marked.find(function (i) { return inv[i] > ref; });
    else for (let k = marked.length - 1; k >= 0; k--) if (inv[marked[k]] < ref) { target = marked[k]; break; }
    if (target !== undefined && target >= 0) goTo(target);
  }
  document.getElementById("tl-prev").addEventListener("click", function () { step(-1); });
  document.getElementById("tl-next").addEventListener("click", function () { step(1); });

  // Start on a readable slice: the whole run if short, else a second around the first anomaly.
  if (span <= 2) setWindow(0, span);
  else {
    const first = marked.length ? inv[marked[0]] : 0;
    setWindow(first - 0.25, first + 0.75);
  }

  // ---- the list of anomalies ------------------------------------------------------------------
  const list = document.getElementById("anomaly-list");
  const shown = Math.min(A.text.length, 200);
  document.getElementById("anomaly-count").textContent = A.text.length
    ? A.text.length.toLocaleString("en-US") + " anomalies" + (shown < A.text.length ? ", the first " + shown + " listed" : "") + "; click one to find it on the timeline."
    : "No anomaly in this run.";
  for (let a = 0; a < shown; a++) {
    const li = document.createElement("li");
    li.textContent = A.op[a] >= 0 ? plain(a) : D.kind_labels[A.kind[a]] + ": " + A.text[a];
    li.title = A.text[a];  // the checker's exact sentence
    if (A.op[a] >= 0) li.addEventListener("click", function () { goTo(A.op[a]); canvas.scrollIntoView({block: "center"}); });
    list.appendChild(li);
  }

  // For tests and measurements.
  api.timeline = {
    setWindow: setWindow,
    view: view,
    markPoint: markPoint,
    visibleMarks: visibleMarks,
    sentences: function (i) { return describe(i).sentences; },
    tipText: tipText,
    canvasSize: function () { return {width: cssW, height: cssH}; },
  };
  api.anomalyCount = A.text.length;
  api.readyMs = performance.now();
  api.ready = true;
  document.body.dataset.ready = "true";
})().catch(function (err) {
  console.error("lbdemo report failed: " + (err && err.stack || err));
  window.LBDEMO = {ready: false, error: String(err)};
});
