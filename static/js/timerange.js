// socapp time-range picker (templates/socapp/partials/time_range.html) and the time-zone
// preference. Both work as plain forms; this only keeps the picker's fields consistent
// (typing a from/to time chooses "From … to …", choosing a range clears the free field)
// and offers the browser's own zone on the preferences page.
(function () {
  "use strict";
  for (const picker of document.querySelectorAll("[data-time-range]")) {
    const select = picker.querySelector("select[name=range]");
    const last = picker.querySelector("input[name=last]");
    for (const name of ["since", "until"]) {
      const input = picker.querySelector(`input[name=${name}]`);
      if (!input || !select) continue;
      input.addEventListener("input", () => {
        select.value = "custom";
        if (last) last.value = "";
      });
    }
    if (select && last) select.addEventListener("change", () => { last.value = ""; });
  }

  const zones = document.getElementById("id_time_zone");
  const useBrowser = document.getElementById("use-browser-zone");
  if (zones && useBrowser) {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const offered = Array.from(zones.options).some((option) => option.value === browserZone);
    if (browserZone && offered && zones.value !== browserZone) {
      useBrowser.textContent = `Use this browser's zone (${browserZone})`;
      useBrowser.hidden = false;
      useBrowser.addEventListener("click", () => {
        zones.value = browserZone;
        zones.focus();
      });
    }
  }
})();
