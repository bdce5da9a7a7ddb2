// socapp dashboard: inline SVG charts drawn from /api/v1/dashboard/ data.
// The first data comes embedded in the page (json_script); then the page polls every
// 30 s and refreshes (debounced) when live.js reports an alert or incident nudge.
// Every string from the server (event types, source names, rule names, user names are
// log- or user-derived) is set with textContent or setAttribute, never parsed as HTML.
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  const embedded = document.getElementById("dashboard-data");
  if (!root || !embedded) return;

  const SVG = "http://www.w3.org/2000/svg";
  const POLL_MS = 30000;
  const NUDGE_DEBOUNCE_MS = 2000;
  // Distinguishable colours for event types and sources; "other" is always grey. They are
  // the stylesheet's custom properties (a light and a dark value each), set through the
  // CSSOM, so a change of theme recolours the charts without drawing them again.
  const PALETTE = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `var(--chart-${n})`);
  const OTHER_COLOUR = "var(--chart-other)";
  const state = document.getElementById("dash-state");
  let data = JSON.parse(embedded.textContent);
  let nudgeTimer = null;
  let inFlight = false;

  // ---- small DOM helpers ---------------------------------------------------------------

  function svg(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function tag(name, cls, text) {
    const node = document.createElement(name);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function empty(container, text) {
    container.replaceChildren(tag("p", "empty", text));
  }

  function swatch(colour) {
    const box = tag("span", "swatch");
    box.style.backgroundColor = colour; // CSSOM, not a style attribute: CSP-safe
    return box;
  }

  // ---- formatting ----------------------------------------------------------------------

  // 24-hour times like every other page (a browser in an en-US locale would otherwise
  // write "02 PM"): hourCycle h23 keeps the locale's separators but never a 12-hour clock.
  // In the user's zone (their preference, which the page names), not the browser's.
  const ZONE = root.dataset.timeZone || "UTC";
  const CLOCK = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: ZONE };
  const CLOCK_SECONDS = { ...CLOCK, second: "2-digit" };

  function clock(at, withSeconds) {
    return at.toLocaleTimeString([], withSeconds ? CLOCK_SECONDS : CLOCK);
  }

  function bucketLabel(iso, bucketSeconds) {
    const at = new Date(iso);
    if (bucketSeconds >= 86400) {
      return at.toLocaleDateString([], { month: "short", day: "numeric", timeZone: ZONE });
    }
    const time = clock(at);
    if (data.hours <= 24) return time;
    return at.toLocaleDateString([], { weekday: "short", timeZone: ZONE }) + " " + time;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.round(seconds);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.round((s % 86400) / 3600) + " h";
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return 10 * magnitude;
  }

  function total(values) {
    return values.reduce((sum, n) => sum + n, 0);
  }

  // ---- charts --------------------------------------------------------------------------

  // Stacked bars, one bar per bucket, one colour per series; a legend with totals below.
  function stackedBars(container, series, colourOf, emptyText) {
    const buckets = data.buckets;
    const totals = buckets.map((_, i) => total(series.map((s) => s.counts[i] || 0)));
    if (!series.length || total(totals) === 0) { empty(container, emptyText); return; }
    const width = 420, height = 180, left = 34, right = 4, top = 8, bottom = 22;
    const plotW = width - left - right, plotH = height - top - bottom;
    const max = niceMax(Math.max(...totals));
    const step = plotW / buckets.length;
    const barW = Math.max(1, step * 0.8);
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "bars", role: "img" });
    chart.appendChild(svg("title", {}, `${total(totals)} in the range`));
    for (const tick of [0, max / 2, max]) {
      const y = top + plotH - (tick / max) * plotH;
      chart.appendChild(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
      chart.appendChild(svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" },
        tick.toLocaleString([], { maximumFractionDigits: 1 })));
    }
    const labelEvery = Math.ceil(buckets.length / 4);
    buckets.forEach((bucket, i) => {
      const x = left + i * step + (step - barW) / 2;
      let y = top + plotH;
      series.forEach((s, k) => {
        const n = s.counts[i] || 0;
        if (!n) return;
        const h = (n / max) * plotH;
        y -= h;
        const rect = svg("rect", { x: x, y: y, width: barW, height: Math.max(h, 0.5) });
        rect.style.fill = colourOf(s, k); // CSSOM (CSP-safe); may be a var(--chart-n)
        rect.appendChild(svg("title", {},
          `${s.label || s.name}: ${n.toLocaleString()} (${bucketLabel(bucket, data.bucket_seconds)})`));
        chart.appendChild(rect);
      });
      if (i % labelEvery === 0) {
        chart.appendChild(svg("text", { x: left + i * step + step / 2, y: height - 6,
          class: "axis", "text-anchor": "middle" }, bucketLabel(bucket, data.bucket_seconds)));
      }
    });
    const legend = tag("ul", "legend");
    series.forEach((s, k) => {
      const item = tag("li");
      item.append(swatch(colourOf(s, k)), tag("span", "", s.label || s.name),
        tag("span", "muted", total(s.counts).toLocaleString()));
      legend.appendChild(item);
    });
    container.replaceChildren(chart, legend);
  }

  function paletteColour(s, k) {
    return s.name === "other" && k >= PALETTE.length ? OTHER_COLOUR : PALETTE[k % PALETTE.length];
  }

  // Horizontal bars for a top-N list; each label links to its entity or rule page.
  function topBars(container, items, hrefOf) {
    if (!items.length) { empty(container, "None in the alerts of this range."); return; }
    const rowH = 20, width = 420, labelW = 170, countW = 44;
    const barMax = width - labelW - countW;
    const max = Math.max(...items.map((item) => item.count));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${rowH * items.length}`, class: "hbars",
      role: "list" });
    items.forEach((item, i) => {
      const y = i * rowH;
      const row = svg("g", { role: "listitem" });
      const full = String(item.value);
      const shown = full.length > 30 ? full.slice(0, 29) + "…" : full;
      const link = svg("a", { href: hrefOf(item) });
      const label = svg("text", { x: 0, y: y + 14, class: "label" }, shown);
      label.appendChild(svg("title", {}, full));
      link.appendChild(label);
      const w = Math.max(2, (item.count / max) * barMax);
      row.append(link,
        svg("rect", { x: labelW, y: y + 4, width: w, height: rowH - 8, class: "bar" }),
        svg("text", { x: labelW + w + 4, y: y + 14, class: "count" }, item.count.toLocaleString()));
      chart.appendChild(row);
    });
    container.replaceChildren(chart);
  }

  function entityHref(kind) {
    const template = root.dataset[kind + "Url"];
    return (item) => template.replace("VALUE", encodeURIComponent(item.value));
  }

  function ruleHref(item) {
    return root.dataset.ruleUrl.replace("00000000-0000-0000-0000-000000000000",
      encodeURIComponent(item.id));
  }

  // ---- tiles ---------------------------------------------------------------------------

  function tile(title, value, detail, colour, href) {
    const box = tag(href ? "a" : "div", "tile");
    if (href) box.href = href;
    if (colour) box.style.setProperty("--sev", colour);
    box.append(tag("span", "count", value), tag("span", "label", title));
    if (detail) box.appendChild(tag("span", "detail muted small", detail));
    return box;
  }

  function timeTile(title, figure, noun) {
    if (!figure) return tile(title, "—", "not available");
    const detail = figure.count
      ? `median ${duration(figure.median_seconds)} · over ${figure.count} ${noun}`
      : `no ${noun} in this range`;
    return tile(title, duration(figure.mean_seconds), detail, "var(--accent)");
  }

  const PRIORITY_COLOURS = { critical: "var(--prio-critical)", high: "var(--prio-high)",
    medium: "var(--prio-medium)", low: "var(--prio-low)" };

  function renderTiles() {
    document.getElementById("dash-times").replaceChildren(
      timeTile("MTTA (time to acknowledge)", data.mtta, "alerts"),
      timeTile("MTTR (time to resolve)", data.mttr, "incidents"));
    const incidents = root.dataset.incidentsUrl;
    document.getElementById("dash-priorities").replaceChildren(
      ...data.open_incidents_by_priority.map((p) => tile(`open ${p.label}`, p.count, "",
        PRIORITY_COLOURS[p.priority],
        `${incidents}?open=true&priority=${encodeURIComponent(p.priority)}`)));
  }

  // ---- the whole page ------------------------------------------------------------------

  function render() {
    renderTiles();
    stackedBars(document.getElementById("chart-alerts"), data.alerts_by_severity,
      (s) => s.color, "No alerts in this range.");
    stackedBars(document.getElementById("chart-event-types"), data.events_by_type,
      paletteColour, "No events in this range.");
    stackedBars(document.getElementById("chart-event-sources"), data.events_by_source,
      paletteColour, "No events in this range.");
    document.getElementById("summary-age").textContent = data.summary_refreshed_at
      ? "Event volumes as of " + clock(new Date(data.summary_refreshed_at), true)
      : "";
    topBars(document.getElementById("top-rules"), data.top.rules, ruleHref);
    topBars(document.getElementById("top-source-ips"), data.top.source_ips, entityHref("ip"));
    topBars(document.getElementById("top-destination-ips"), data.top.destination_ips,
      entityHref("ip"));
    topBars(document.getElementById("top-users"), data.top.users, entityHref("user"));
  }

  function setState(text, cls) {
    if (!state) return;
    state.textContent = text;
    state.className = "live-state " + cls;
  }

  async function refresh() {
    if (inFlight || document.hidden) return;
    inFlight = true;
    try {
      const response = await fetch(root.dataset.apiUrl, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error("dashboard refresh failed: " + response.status);
      data = await response.json();
      render();
      setState("updated " + clock(new Date(), true), "on");
    } catch (error) {
      console.warn(error);
      setState("refresh failed; retrying", "off");
    } finally {
      inFlight = false;
    }
  }

  // Many alerts in a burst make one refresh, not one each.
  function soon() {
    clearTimeout(nudgeTimer);
    nudgeTimer = setTimeout(refresh, NUDGE_DEBOUNCE_MS);
  }

  let opened = false;
  document.addEventListener("socapp:live", (event) => {
    const kind = (event.detail && event.detail.kind) || "";
    if (kind.startsWith("alert.") || kind.startsWith("incident.")) soon();
  });
  document.addEventListener("socapp:live-open", () => {
    // The first connect follows the page load; later ones catch up on what was missed.
    if (opened) soon();
    opened = true;
    root.dataset.live = "on"; // for people (and browser tests): nudges now arrive
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  setInterval(refresh, POLL_MS);
  render();
  window.socappDashboard = { refresh: refresh };
})();
