// The screening rules page, while re-scoring runs: the progress line counts up every few
// seconds and the page reloads once it is done (for the new counts). Without this file the
// page says how far it got when loaded, and a link refreshes it.
(function () {
  "use strict";

  var box = document.getElementById("screening-progress");
  var text = document.getElementById("progress-text");
  if (!box || !text || box.dataset.done === "1") { return; }
  var POLL_MS = 3000;
  // Numbers as the page's language writes them (French "1 234"), not the browser's.
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined);

  function around(strong, next) {
    // The text node on one side of the count (a translation may start with the count).
    var node = next ? strong.nextSibling : strong.previousSibling;
    if (node && node.nodeType === Node.TEXT_NODE) { return node; }
    node = document.createTextNode("");
    text.insertBefore(node, next ? strong.nextSibling : strong);
    return node;
  }

  function show(current, total) {
    // One sentence for translators; the count goes in its <strong>, the rest around it.
    var parts = gettext("Re-scoring: %(current)s of %(total)s scored under the current rules.")
      .split("%(current)s");
    var strong = text.querySelector("strong");
    around(strong, false).nodeValue = parts[0];
    strong.textContent = current;
    around(strong, true).nodeValue = interpolate(parts[1] || "", { total: total }, true) + " ";
  }

  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.done) { window.location.reload(); return; }
        show(format.format(data.current), format.format(data.total));
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 3); });
  }
  window.setTimeout(poll, POLL_MS);
})();
