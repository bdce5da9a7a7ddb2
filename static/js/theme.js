// socapp: the colour theme. Loaded without defer in <head> so that <html data-theme> is
// set before the first paint (no flash of the wrong theme); the stylesheet does the rest.
// "auto" follows the browser's prefers-color-scheme. The choice is kept per browser in
// localStorage under Django admin's own key and values ("theme": auto|light|dark), so
// the console and /admin/ follow one switch.
(function () {
  "use strict";
  const KEY = "theme";
  const CHOICES = ["auto", "light", "dark"];
  const html = document.documentElement;

  function stored() {
    try {
      const choice = window.localStorage.getItem(KEY);
      return CHOICES.includes(choice) ? choice : "auto";
    } catch (error) {
      return "auto"; // storage disabled: follow the system
    }
  }

  function remember(choice) {
    try {
      window.localStorage.setItem(KEY, choice);
    } catch (error) {
      // storage disabled: the choice lasts for this page only
    }
  }

  function switches() {
    return document.querySelectorAll("select[data-theme-switch]");
  }

  function apply(choice) {
    html.dataset.theme = choice;
    for (const select of switches()) select.value = choice;
  }

  apply(stored());

  document.addEventListener("DOMContentLoaded", () => {
    for (const select of switches()) {
      select.value = html.dataset.theme;
      select.addEventListener("change", () => {
        const choice = CHOICES.includes(select.value) ? select.value : "auto";
        remember(choice);
        apply(choice);
      });
      const label = select.closest("label");
      if (label) label.hidden = false;
    }
  });
  // Another tab (or the admin) changed the theme: follow it here too.
  window.addEventListener("storage", (event) => {
    if (event.key === KEY || event.key === null) apply(stored());
  });
})();
