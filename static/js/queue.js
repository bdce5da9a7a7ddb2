// The alert queue's own behaviour: ages that tick, a selected row moved with j/k, the
// shortcuts (a acknowledge, e escalate, p preview, / search, ? help), the page's
// select-all box, group toggles and the preview flyout. Everything shown comes from the
// server as escaped HTML or is set as text; nothing here builds markup from strings.
(function () {
  "use strict";
  const table = document.getElementById("alert-queue");
  if (!table) return;
  const body = table.tBodies[0];
  const help = document.getElementById("shortcuts");
  const pane = document.getElementById("preview");
  const paneContent = document.getElementById("preview-content");
  const search = document.getElementById("queue-search");
  const say = document.getElementById("queue-say");
  const csrf = document.querySelector("#bulk input[name=csrfmiddlewaretoken]");
  let currentId = null;
  let previewWanted = 0;

  // ---- ages ---------------------------------------------------------------------------
  // "45s", "12m", "3h 5m", "2d 4h": what a queue is scanned for, updated every 5 s. The
  // absolute time (24-hour, with its zone) stays in each element's title.
  function age(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }

  function tick() {
    const now = Date.now();
    for (const time of document.querySelectorAll("time[data-age]")) {
      const at = Date.parse(time.getAttribute("datetime"));
      if (!Number.isNaN(at)) time.textContent = age((now - at) / 1000);
    }
  }

  // ---- the selected row ---------------------------------------------------------------
  function visibleRows() {
    return Array.from(body.querySelectorAll("tr[data-id]")).filter((row) => !row.hidden);
  }

  function currentRow() {
    return currentId ? body.querySelector(`tr[data-id="${CSS.escape(currentId)}"]`) : null;
  }

  function mark() {
    for (const row of body.querySelectorAll("tr.current")) {
      if (row.dataset.id !== currentId) {
        row.classList.remove("current");
        row.removeAttribute("aria-selected");
      }
    }
    const row = currentRow();
    if (row && !row.classList.contains("current")) {
      row.classList.add("current");
      row.setAttribute("aria-selected", "true");
    }
  }

  function select(row) {
    currentId = row.dataset.id;
    mark();
    row.scrollIntoView({ block: "nearest" });
    if (pane && !pane.hidden) showPreview(row);
  }

  function move(step) {
    const rows = visibleRows();
    if (!rows.length) return;
    const at = rows.indexOf(currentRow());
    const next = at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + step));
    select(rows[next]);
  }

  function tell(text) {
    if (say) say.textContent = text;
  }

  // ---- actions on the selected row ----------------------------------------------------
  async function post(url, fields) {
    const data = new URLSearchParams(fields);
    data.set("csrfmiddlewaretoken", csrf.value);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf.value },
      body: data,
    });
  }

  async function acknowledge() {
    const row = currentRow();
    if (!row) return tell("Select an alert first (j / k).");
    if (!csrf) return tell("Your role cannot triage alerts.");
    const response = await post(row.dataset.url + "acknowledge/", {});
    if (!response.ok) return tell("Could not acknowledge: " + response.status);
    tell("Acknowledged: " + row.dataset.title);
    const status = row.querySelector("td.status");
    if (status && row.classList.contains("status-open")) {
      status.firstChild.textContent = "Acknowledged";
      row.classList.replace("status-open", "status-acknowledged");
    }
    if (window.socappLive) window.socappLive.catchUp();
  }

  async function escalate() {
    const row = currentRow();
    if (!row) return tell("Select an alert first (j / k).");
    if (!csrf) return tell("Your role cannot escalate alerts.");
    if (!window.confirm("Escalate “" + row.dataset.title + "” to a new incident?")) return;
    const response = await post(row.dataset.url + "escalate/", {
      title: row.dataset.title, incident_type: "other",
    });
    if (response.status === 403) return tell("Your role cannot open incidents.");
    // The server answers with the new incident (or the alert page and why it could not).
    window.location.assign(response.url);
  }

  function toggleTicked() {
    const box = currentRow() && currentRow().querySelector("input[name=ids]");
    if (box) box.checked = !box.checked;
  }

  // ---- preview flyout -----------------------------------------------------------------
  async function showPreview(row) {
    const button = row && row.querySelector("[data-preview]");
    if (!pane || !button) return;
    const wanted = ++previewWanted;
    pane.hidden = false;
    const response = await fetch(button.dataset.preview, { credentials: "same-origin" });
    if (wanted !== previewWanted) return; // the selection moved on meanwhile
    if (!response.ok) { paneContent.textContent = "Could not load the preview."; return; }
    const holder = document.createElement("template");
    holder.innerHTML = await response.text();
    paneContent.replaceChildren(holder.content);
    tick();
  }

  function closePreview() {
    if (pane) pane.hidden = true;
    previewWanted++;
  }

  // ---- help ---------------------------------------------------------------------------
  function toggleHelp(open) {
    if (!help) return;
    help.hidden = !(open === undefined ? help.hidden : open);
    if (!help.hidden) document.getElementById("shortcuts-close").focus();
  }

  // Keys belong to a field that takes text; a ticked box or a button keeps the shortcuts.
  const NOT_TYPED = ["checkbox", "radio", "button", "submit", "reset"];
  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.closest("textarea, select, [contenteditable=true]")) return true;
    return target.tagName === "INPUT" && !NOT_TYPED.includes(target.type);
  }

  const KEYS = {
    j: () => move(1),
    k: () => move(-1),
    a: acknowledge,
    e: escalate,
    x: toggleTicked,
    p: () => (pane && !pane.hidden ? closePreview() : showPreview(currentRow())),
    o: () => { const row = currentRow(); if (row) window.location.assign(row.dataset.url); },
    "/": () => { if (search) { search.focus(); search.select(); } },
    "?": () => toggleHelp(),
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      if (typing(event.target)) { event.target.blur(); return; }
      toggleHelp(false);
      closePreview();
      return;
    }
    if (typing(event.target)) return;
    if (event.key === "Enter" && event.target === document.body) { KEYS.o(); return; }
    const action = KEYS[event.key];
    if (!action) return;
    if (help && !help.hidden && event.key !== "?") return;
    event.preventDefault();
    action();
  });

  // ---- clicks -------------------------------------------------------------------------
  body.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-id]");
    const toggle = event.target.closest(".group-toggle");
    if (toggle) { toggleGroup(toggle); return; }
    if (!row) return;
    if (event.target.closest("[data-preview]")) { select(row); showPreview(row); return; }
    if (!event.target.closest("a, input, button")) select(row);
  });

  function toggleGroup(button) {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = (open ? "▾" : "▸") + button.textContent.slice(1);
    for (const row of body.querySelectorAll(`tr[data-member-of="${CSS.escape(button.dataset.group)}"]`)) {
      row.hidden = !open;
    }
  }

  const pageBox = document.getElementById("select-page");
  if (pageBox) {
    pageBox.addEventListener("change", () => {
      for (const row of visibleRows()) {
        const box = row.querySelector("input[name=ids]");
        if (box) box.checked = pageBox.checked;
      }
    });
  }

  const openHelp = document.getElementById("shortcuts-open");
  if (openHelp) openHelp.addEventListener("click", () => toggleHelp(true));
  const closeHelp = document.getElementById("shortcuts-close");
  if (closeHelp) closeHelp.addEventListener("click", () => toggleHelp(false));
  const closePane = document.getElementById("preview-close");
  if (closePane) closePane.addEventListener("click", closePreview);

  // Live updates replace rows: keep the selection on the same alert, and the new rows'
  // ages in the same form as the others.
  new MutationObserver(() => { mark(); tick(); }).observe(body, { childList: true });
  tick();
  setInterval(tick, 5000);
})();
