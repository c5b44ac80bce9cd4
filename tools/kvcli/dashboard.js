// The dashboard: polls /api/stores and /api/stores/KEY and draws them.
"use strict";
(function () {
  const REFRESH_MS = Number(document.body.dataset.refreshMs) || 1000;
  const KEEP = 300;  // points per chart: five minutes at one a second
  const state = { selected: null, previous: null, charts: {}, updates: 0 };
  const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"];
  window.shmkvDashboard = state;

  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }
  function percent(r) { return r === null || r === undefined ? "-" : (100 * r).toFixed(1) + "%"; }
  function lineChart(id, series) {
    if (typeof Chart === "undefined") return null;
    return new Chart(document.getElementById(id), {
      type: "line",
      data: { labels: [], datasets: series.map((label, i) => ({
        label: label, data: [], pointRadius: 0, borderWidth: 2, borderColor: COLORS[i],
        backgroundColor: COLORS[i] })) },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true } } },
    });
  }
  // The second axis (fill, 0 to 1) scales to its data, so a store a few
  // percent full still shows its bars; its ticks are percentages.
  function fillAxis() {
    return { beginAtZero: true, position: "right", grid: { drawOnChartArea: false },
             title: { display: true, text: "fill" },
             ticks: { callback: (v) => (v === 0 ? "0" : Number((100 * v).toPrecision(2))) + "%" } };
  }
  function barChart(id, series, y2) {
    if (typeof Chart === "undefined") return null;
    const datasets = series.map((label, i) => ({ label: label, data: [],
                                                 backgroundColor: COLORS[i],
                                                 yAxisID: i === 1 && y2 ? "y2" : "y" }));
    const scales = { y: { beginAtZero: true, ticks: { precision: 0 } } };
    if (y2) scales.y2 = fillAxis();
    return new Chart(document.getElementById(id), {
      type: "bar", data: { labels: [], datasets: datasets },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: scales },
    });
  }
  function makeCharts() {
    state.charts = {
      ops: lineChart("chart-ops", ["gets/s", "puts/s"]),
      hit: lineChart("chart-hit", ["hit ratio"]),
      evict: lineChart("chart-evict", ["evictions/s", "expirations/s"]),
      memory: lineChart("chart-memory", ["bytes used", "capacity"]),
      waits: lineChart("chart-waits", ["lock waits/s"]),
      stripes: barChart("chart-stripes", ["lock waits", "fill"], true),
      sizes: barChart("chart-sizes", ["entries"], false),
    };
  }
  function push(chart, label, values) {
    if (!chart) return;
    chart.data.labels.push(label);
    values.forEach((v, i) => chart.data.datasets[i].data.push(v));
    if (chart.data.labels.length > KEEP) {
      chart.data.labels.shift();
      chart.data.datasets.forEach((d) => d.data.shift());
    }
    chart.update();
  }
  function clearCharts() {
    Object.values(state.charts).forEach((chart) => {
      if (!chart) return;
      chart.data.labels = [];
      chart.data.datasets.forEach((d) => { d.data = []; });
      chart.update();
    });
  }

  function showStores(list) {
    const body = document.querySelector("#stores tbody");
    body.replaceChildren();
    for (const s of list.stores) {
      const row = document.createElement("tr");
      row.className = "store" + (s.key === state.selected ? " selected" : "");
      row.dataset.key = s.key;
      const st = s.stats;
      row.append(text("td", s.key, "l"), text("td", s.path || s.name, "l"),
                 text("td", s.status, s.status === "ok" ? "l" : "l bad"),
                 text("td", st ? String(st.items) : "?"),
                 text("td", st ? bytes(st.bytes_used) : "?"),
                 text("td", st ? bytes(st.capacity) : "?"),
                 text("td", st ? percent(st.hit_ratio) : "-"),
                 text("td", String(s.attached_processes)));
      if (s.status !== "ok" && s.detail) row.title = s.detail;
      row.addEventListener("click", () => select(s.key));
      body.append(row);
    }
    const when = new Date(list.time_ms).toLocaleTimeString();
    document.getElementById("status").textContent = list.listing_error
      ? "cannot list the stores: " + list.listing_error
      : list.stores.length + " store" + (list.stores.length === 1 ? "" : "s") + ", read at " + when;
    if (state.selected === null && list.stores.length > 0) {
      const hashed = decodeURIComponent(location.hash.slice(1));
      const first = list.stores.find((s) => s.key === hashed) ||
                    list.stores.find((s) => s.status === "ok");
      if (first) select(first.key);
    }
  }

  function select(key) {
    if (state.selected === key) return;
    state.selected = key;
    state.previous = null;
    history.replaceState(null, "", "#" + key);
    document.querySelectorAll("#stores tr.store").forEach((row) => {
      row.classList.toggle("selected", row.dataset.key === key);
    });
    clearCharts();
    refreshStore();
  }

  function showLargest(largest) {
    const body = document.querySelector("#largest tbody");
    body.replaceChildren();
    if (!largest) {
      document.getElementById("largest-note").textContent =
        "not measured: start kvcli serve with --sizes-every=10s to walk the keys";
      return;
    }
    for (const e of largest.entries) {
      const key = e.key === null ? "(hidden)" : e.key;
      const row = document.createElement("tr");
      row.append(text("td", key, "l"), text("td", String(e.value_size)),
                 text("td", String(e.key_size)),
                 text("td", e.ttl_ms < 0 ? "none" : (e.ttl_ms / 1000).toFixed(0) + " s"));
      body.append(row);
    }
    document.getElementById("largest-note").textContent = largest.keys_shown
      ? "" : "key names are hidden: start kvcli serve with --show-keys to show them";
  }

  function showNear(near) {
    const el = document.getElementById("near");
    if (!near) { el.textContent = "no kvsync has run on this store"; return; }
    if (near.error) { el.textContent = "kvsync's record is unreadable: " + near.error; return; }
    el.textContent = "kvsync pid " + near.pid + ", " + near.phase + ", " +
      (near.serving ? "readers serve from the store" : "readers go to Redis (" + near.reason + ")") +
      "; heartbeat " + (near.heartbeat_age_ms / 1000).toFixed(1) + " s ago; " + near.invalidations +
      " invalidations, " + near.flushes + " flushes, " + near.resyncs + " resyncs; Redis " +
      near.redis;
  }

  function showHeading(d) {
    const s = d.store, st = s.stats;
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = "store " + s.key +
      (s.path ? " (" + s.path + ")" : "");
    document.getElementById("detail-info").textContent = st
      ? st.items + " entries, " + bytes(st.bytes_used) + " of " + bytes(st.capacity) + " used, " +
        (d.info ? d.info.lock_stripes + " lock stripes" : "") +
        (s.errors.length ? "; " + s.errors.join("; ") : "")
      : s.status + ": " + s.detail;
  }

  // One point on each time chart: rates from the counters' change since the
  // last reading, and the memory used now.
  function pushPoint(time_ms, st) {
    const label = new Date(time_ms).toLocaleTimeString();
    const prev = state.previous;
    if (prev && time_ms <= prev.time_ms) return;
    if (prev) {
      const secs = (time_ms - prev.time_ms) / 1000;
      const rate = (f) => Math.max(0, st[f] - prev.stats[f]) / secs;
      const gets = rate("hits") + rate("misses");
      push(state.charts.ops, label, [gets, rate("puts")]);
      push(state.charts.hit, label, [gets > 0 ? rate("hits") / gets : null]);
      push(state.charts.evict, label, [rate("evictions"), rate("expirations")]);
      push(state.charts.waits, label, [rate("lock_waits")]);
    }
    push(state.charts.memory, label, [st.bytes_used, st.capacity]);
    state.previous = { time_ms: time_ms, stats: st };
  }

  function showStripes(list) {
    const chart = state.charts.stripes;
    if (!chart) return;
    chart.data.labels = list.map((x) => String(x.stripe));
    chart.data.datasets[0].data = list.map((x) => x.lock_waits);
    chart.data.datasets[1].data = list.map((x) => x.fill);
    chart.update();
  }

  function showSizes(sizes) {
    const chart = state.charts.sizes;
    if (!chart || !sizes) return;
    const b = sizes.values.buckets;
    chart.data.labels = b.map((x) => x.min_size === x.max_size ? String(x.min_size)
                                                              : x.min_size + "-" + x.max_size);
    chart.data.datasets[0].data = b.map((x) => x.count);
    chart.update();
  }

  function showStore(d) {
    showHeading(d);
    showNear(d.store.near_sync);
    showLargest(d.largest);
    if (!d.store.stats) return;
    pushPoint(d.time_ms, d.store.stats);
    showStripes(d.stripes);
    showSizes(d.sizes);
    state.updates++;
  }

  async function getJson(path) {
    const response = await fetch(path, { cache: "no-store" });
    if (!response.ok) throw new Error(path + ": " + (await response.text()).trim());
    return response.json();
  }
  async function refreshStore() {
    const key = state.selected;
    if (key === null) return;
    try {
      const d = await getJson("/api/stores/" + encodeURIComponent(key));
      if (key === state.selected) showStore(d);
    } catch (e) {
      document.getElementById("detail-info").textContent = String(e.message);
    }
  }
  async function tick() {
    try {
      showStores(await getJson("/api/stores"));
      await refreshStore();
    } catch (e) {
      document.getElementById("status").textContent = "kvcli serve does not answer: " + e.message;
    }
    setTimeout(tick, REFRESH_MS);
  }
  if (typeof Chart === "undefined") {
    document.getElementById("status").textContent =
      "Chart.js did not load (install Debian's libjs-chart.js on the host): no charts";
  }
  makeCharts();
  tick();
})();
