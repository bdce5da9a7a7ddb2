// socapp event search: dragging across the hits-over-time histogram searches that time.
// The bars are drawn by the server as SVG links (clicking one searches its bucket, with
// or without JavaScript); this adds a drag that spans several bars. The bucket bounds
// come from the bars' data-start/data-end attributes, already in the From/To format.
(function () {
  "use strict";
  const chart = document.querySelector("#search-histogram svg.bars");
  if (!chart) return;
  const bars = Array.from(chart.querySelectorAll("a[data-start]"));
  const selection = chart.querySelector(".hit-selection");
  let first = null;
  let last = null;
  let dragged = false;

  function barAt(event) {
    const target = event.target instanceof Element ? event.target.closest("a[data-start]") : null;
    return target ? bars.indexOf(target) : -1;
  }

  function rectOf(index) {
    const rect = bars[index].querySelector(".hit-target");
    return { x: Number(rect.getAttribute("x")), w: Number(rect.getAttribute("width")) };
  }

  function showSelection() {
    const lo = rectOf(Math.min(first, last));
    const hi = rectOf(Math.max(first, last));
    selection.setAttribute("x", String(lo.x));
    selection.setAttribute("width", String(hi.x + hi.w - lo.x));
  }

  function searchSelection() {
    const lo = bars[Math.min(first, last)];
    const hi = bars[Math.max(first, last)];
    const params = new URLSearchParams(window.location.search);
    params.delete("cursor");
    params.set("range", "custom");
    params.set("since", lo.dataset.start);
    params.set("until", hi.dataset.end);
    window.location.search = params.toString();
  }

  chart.addEventListener("mousedown", (event) => {
    const index = barAt(event);
    if (index < 0 || event.button !== 0) return;
    event.preventDefault(); // no text selection, no link drag
    first = last = index;
    dragged = false;
    showSelection();
  });
  chart.addEventListener("mousemove", (event) => {
    if (first === null) return;
    const index = barAt(event);
    if (index < 0 || index === last) return;
    last = index;
    dragged = true;
    showSelection();
  });
  document.addEventListener("mouseup", () => {
    if (first === null) return;
    if (dragged) searchSelection();
    else selection.setAttribute("width", "0");
    first = last = null;
  });
  // A drag ends on a bar, whose link would otherwise be followed instead.
  chart.addEventListener("click", (event) => {
    if (dragged) event.preventDefault();
  });
})();
