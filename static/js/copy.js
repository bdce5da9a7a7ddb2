// socapp: "Copy" buttons (button[data-copy]) put their value on the clipboard, e.g. an
// evidence file's SHA-256. Where the clipboard is not available (a page not served over
// HTTPS or from localhost), the value is selected for Ctrl+C instead.
(function () {
  "use strict";

  function selectNear(button) {
    const code = button.parentElement && button.parentElement.querySelector("code");
    if (!code) return false;
    const range = document.createRange();
    range.selectNodeContents(code);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return true;
  }

  function say(button, text) {
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = text;
    setTimeout(() => { button.textContent = label; }, 2000);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();
    try {
      if (!navigator.clipboard) throw new Error("no clipboard here");
      await navigator.clipboard.writeText(button.dataset.copy);
      say(button, "Copied");
    } catch (error) {
      say(button, selectNear(button) ? "Selected: press Ctrl+C" : "Copy failed");
    }
  });
})();
