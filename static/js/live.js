// socapp live updates: one websocket per page (/ws/live/), nudges only.
// Pages fetch what changed over HTTP (the same permission-filtered reads as everything
// else) on every nudge and on every (re)connect, so nothing is missed while offline.
// Everything from the server is inserted as server-rendered, escaped HTML or as text.
(function () {
  "use strict";
  const queue = document.getElementById("alert-queue");
  const incident = document.getElementById("incident");
  const state = document.getElementById("live-state");
  const toasts = document.getElementById("toasts");
  let cursor = queue ? queue.dataset.cursor : null;
  let fetching = null;
  let again = false;
  let retry = 1000;

  function setState(text, cls) {
    if (!state) return;
    state.textContent = text;
    state.className = "live-state " + cls;
  }

  function toast(text, url) {
    if (!toasts) return;
    const box = document.createElement("div");
    box.className = "toast";
    box.setAttribute("role", "alert");
    const link = document.createElement("a");
    link.href = url || "#";
    link.textContent = text;
    box.appendChild(link);
    toasts.appendChild(box);
    setTimeout(() => box.remove(), 15000);
  }

  // Rows carry their sort value as text that orders like the server's sort (the queue's
  // data-order says which way); a new or changed row goes where that order puts it.
  function placeRow(body, row) {
    const sort = row.dataset.sort;
    const ascending = queue.dataset.order === "asc";
    for (const other of body.querySelectorAll("tr[data-id]")) {
      const after = ascending ? other.dataset.sort > sort : other.dataset.sort < sort;
      if (after) { body.insertBefore(row, other); return; }
    }
    // Older than every row shown: it belongs on a later page unless this one is short.
    if (!document.querySelector(".pager a")) body.appendChild(row);
  }

  async function catchUp() {
    if (!queue || !queue.dataset.live) return;
    if (fetching) { again = true; return fetching; }
    const url = queue.dataset.rowsUrl + "&changed_since=" + encodeURIComponent(cursor || "");
    fetching = fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(async (response) => {
        if (!response.ok) throw new Error("catch-up failed: " + response.status);
        const next = response.headers.get("X-Cursor");
        const holder = document.createElement("template");
        holder.innerHTML = await response.text();
        const body = queue.tBodies[0];
        for (const gone of holder.content.querySelectorAll("tr[data-remove]")) {
          const row = body.querySelector(`tr[data-id="${gone.dataset.remove}"]`);
          if (row) row.remove();
        }
        for (const row of holder.content.querySelectorAll("tr[data-id]")) {
          const old = body.querySelector(`tr[data-id="${row.dataset.id}"]`);
          if (old) {
            const box = old.querySelector("input[type=checkbox]");
            const ticked = box && box.checked;
            if (old.dataset.sort === row.dataset.sort) {
              old.replaceWith(row);
            } else {
              old.remove();
              placeRow(body, row);
            }
            if (ticked) row.querySelector("input[type=checkbox]").checked = true;
          } else {
            placeRow(body, row);
          }
          row.classList.add("fresh");
        }
        const empty = document.getElementById("queue-empty");
        if (empty && body.rows.length) empty.remove();
        if (next) cursor = next;
      })
      .catch((error) => console.warn(error))
      .finally(() => {
        fetching = null;
        if (again) { again = false; catchUp(); }
      });
    return fetching;
  }

  // Server-rendered (escaped) parts of the incident page, swapped in when it changes.
  async function refreshPart(url, boxId) {
    const box = document.getElementById(boxId);
    if (!url || !box) return;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) return;
    const holder = document.createElement("template");
    holder.innerHTML = await response.text();
    box.replaceChildren(holder.content);
  }

  async function refreshIncident() {
    if (!incident) return;
    await Promise.all([
      refreshPart(incident.dataset.timelineUrl, "timeline-box"),
      refreshPart(incident.dataset.actionsUrl, "actions-box"),
    ]);
  }

  // Other scripts of the page (the dashboard) listen for these instead of opening a
  // second socket: "socapp:live" carries each nudge, "socapp:live-open" each (re)connect.
  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function onMessage(message) {
    const kind = message.kind || "";
    announce("socapp:live", message);
    if (kind.startsWith("alert.")) catchUp();
    if (kind.startsWith("incident.") && incident && message.id === incident.dataset.incidentId) {
      refreshIncident();
    }
    if (message.text) toast(message.text, message.url);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/ws/live/");
    socket.onopen = () => {
      retry = 1000;
      setState("live", "on");
      announce("socapp:live-open", null);
      catchUp();
      refreshIncident();
    };
    socket.onmessage = (event) => {
      try { onMessage(JSON.parse(event.data)); } catch (e) { console.warn(e); }
    };
    socket.onclose = (event) => {
      if (event.code === 4403) { setState("live updates not allowed", "off"); return; }
      setState("reconnecting…", "off");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  window.socappLive = { catchUp: catchUp };
  connect();
})();
