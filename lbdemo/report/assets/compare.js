"use strict";
// The compare page: the same charts for every run, one column per run, on shared scales.
(async function () {
  const D = await LB.decode("lbdemo-data");
  const api = window.LBDEMO = {ready: false, charts: {rates: [], latency: [], replicas: []}, scales: {}};
  const runs = D.runs.filter(function (r) { return r.series && r.series.t_s; });
  const xMax = Math.max.apply(null, runs.map(function (r) { const t = r.series.t_s; return t.length ? t[t.length - 1] + (r.series.last_bucket_s || r.series.bucket_s) : 0; }).concat([1]));
  const rateMax = LB.max(runs.flatMap(function (r) {
    return [r.series.reads_per_s].concat(Object.values(r.series.anomalies_per_s)); })) * 1.05 || 1;
  const latMax = LB.max(runs.flatMap(function (r) { return Object.values(r.series.latency_ms); })) * 1.05 || 1;
  const repMax = LB.max(runs.flatMap(function (r) { return Object.values(r.series.replica_requests_per_s); })) * 1.05 || 1;
  api.scales = {xMax: xMax, rates: rateMax, latency: latMax, replicas: repMax};

  function column(rowId, run) {
    const row = document.getElementById(rowId);
    const cell = document.createElement("div");
    const h = document.createElement("h3");
    h.textContent = run.label + " (" + run.verdict + ")";
    cell.appendChild(h);
    row.appendChild(cell);
    return cell;
  }
  const width = Math.max(300, (LB.width(document.querySelector("main")) - 16 * (D.runs.length - 1)) / D.runs.length - 4);
  D.runs.forEach(function (run) {
    if (!run.series || !run.series.t_s) {
      for (const id of ["row-rates", "row-latency", "row-replicas"]) {
        column(id, run).appendChild(document.createTextNode("This report has no per-second series (written before they existed)."));
      }
      return;
    }
    const o = function (yMax) { return {width: width, height: 240, xMax: xMax, yMax: yMax}; };
    api.charts.rates.push(LB.ratesChart(column("row-rates", run), run.series, D.kinds, D.kind_labels, run.periods, o(rateMax)));
    api.charts.latency.push(LB.latencyChart(column("row-latency", run), run.series, run.periods, o(latMax)));
    api.charts.replicas.push(LB.replicaChart(column("row-replicas", run), run.series, null, run.periods, o(repMax)));
  });
  api.readyMs = performance.now();
  api.ready = true;
  document.body.dataset.ready = "true";
})().catch(function (err) {
  console.error("lbdemo compare failed: " + (err && err.stack || err));
  window.LBDEMO = {ready: false, error: String(err)};
});
