"use strict";
// Shared by the report and the compare page: data decoding, colours, chart helpers.
const LB = {};
LB.palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
              "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31"];
LB.kindColors = {stale_read: "#d62728", read_your_writes: "#e6550d", monotonic_read: "#9c27b0",
                 garbage_read: "#000000", lost_write: "#795548"};

// The data block is gzip-compressed JSON in base64; DecompressionStream is built in.
LB.decode = async function (id) {
  const b64 = document.getElementById(id).textContent.trim();
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return JSON.parse(await new Response(stream).text());
};

// A run's product keys carry its tag (`private-e4f2e01c-p6`: the tag keeps runs apart in one
// database). A person reads the product: the workload's `p<n>` gets a fruit's name, the tag goes.
LB.fruits = ["apple", "pear", "plum", "cherry", "peach", "mango", "lemon", "grape", "kiwi", "melon",
             "fig", "lime", "banana", "orange", "apricot", "papaya"];
LB.keyName = function (key) {
  const rest = String(key).replace(/^(?:[A-Za-z0-9_-]*-)?[0-9a-f]{8}-/, "");
  const m = /^p(\d+)$/.exec(rest);
  if (!m) return rest;
  const i = Number(m[1]), f = LB.fruits.length;
  return LB.fruits[i % f] + (i >= f ? " " + (Math.floor(i / f) + 1) : "");
};

LB.fmt = function (v, digits) {
  if (v === null || v === undefined) return "–";
  return Number(v).toLocaleString("en-US", {maximumFractionDigits: digits === undefined ? 1 : digits});
};

// Upgrade or fault periods as shaded bands behind a chart's series.
LB.periodsPlugin = function (periods) {
  return {
    hooks: {
      drawClear: [function (u) {
        if (!periods || !periods.length) return;
        const ctx = u.ctx;
        ctx.save();
        for (const p of periods) {
          const x0 = u.valToPos(p.start_s, "x", true);
          const x1 = u.valToPos(p.end_s, "x", true);
          ctx.fillStyle = "rgba(255, 193, 7, 0.22)";
          ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
          ctx.fillStyle = "#7a5c00";
          ctx.font = (12 * devicePixelRatio) + "px sans-serif";
          ctx.fillText(p.label, x0 + 4 * devicePixelRatio, u.bbox.top + 14 * devicePixelRatio);
        }
        ctx.restore();
      }],
    },
  };
};

LB.width = function (el) { return Math.max(300, el.clientWidth || 600); };

// The rate chart of one run: reads/s and each read anomaly kind per second.
LB.ratesChart = function (el, series, kinds, kindLabels, periods, opts) {
  opts = opts || {};
  const data = [series.t_s, series.reads_per_s];
  const specs = [{label: "seconds"}, {label: "reads/s", stroke: "#4e79a7", width: 2}];
  kinds.forEach(function (k, i) {
    const values = series.anomalies_per_s[k];
    if (!values || k === "lost_write") return;
    if (k !== "stale_read" && !values.some(function (v) { return v > 0; })) return;
    data.push(values);
    specs.push({label: kindLabels[i] + "/s", stroke: LB.kindColors[k] || "#d62728", width: 2,
                fill: k === "stale_read" ? "rgba(214,39,40,0.15)" : undefined});
  });
  return LB.chart(el, specs, data, "per second", periods, opts);
};

LB.latencyChart = function (el, series, periods, opts) {
  const l = series.latency_ms;
  return LB.chart(el, [{label: "seconds"},
    {label: "p50 ms", stroke: "#2ca02c", width: 2},
    {label: "p95 ms", stroke: "#ff7f0e", width: 2},
    {label: "p99 ms", stroke: "#d62728", width: 2}],
    [series.t_s, l.p50, l.p95, l.p99], "ms", periods, opts);
};

LB.replicaChart = function (el, series, replicas, periods, opts) {
  const names = Object.keys(series.replica_requests_per_s);
  const specs = [{label: "seconds"}];
  const data = [series.t_s];
  names.forEach(function (name) {
    const i = replicas ? replicas.indexOf(name) : names.indexOf(name);
    specs.push({label: name, stroke: LB.palette[(i < 0 ? names.indexOf(name) : i) % LB.palette.length], width: 2});
    data.push(series.replica_requests_per_s[name]);
  });
  return LB.chart(el, specs, data, "requests/s", periods, opts);
};

LB.chart = function (el, specs, data, yLabel, periods, opts) {
  opts = opts || {};
  const options = {
    width: opts.width || LB.width(el),
    height: opts.height || 260,
    scales: {x: {time: false}, y: {}},
    axes: [{label: "seconds into the run"}, {label: yLabel}],
    series: specs,
    plugins: [LB.periodsPlugin(periods)],
  };
  if (opts.xMax !== undefined) options.scales.x.range = [0, opts.xMax];
  if (opts.yMax !== undefined) options.scales.y.range = [0, opts.yMax];
  else options.scales.y.range = function (u, min, max) { return [0, max > 0 ? max * 1.05 : 1]; };
  return new uPlot(options, data, el);
};

LB.max = function (arrays) {
  let m = 0;
  for (const a of arrays) for (const v of a || []) if (v !== null && v > m) m = v;
  return m;
};
