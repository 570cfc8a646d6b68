// The screening rules page, while re-scoring runs: the progress line counts up every few
// seconds and the page reloads once it is done (for the new counts). Without this file the
// page says how far it got when loaded, and a link refreshes it.
(function () {
  "use strict";

  var box = document.getElementById("screening-progress");
  var text = document.getElementById("progress-text");
  if (!box || !text || box.dataset.done === "1") { return; }
  var POLL_MS = 3000;
  var format = new Intl.NumberFormat();

  function poll() {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.done) { window.location.reload(); return; }
        text.firstChild.nodeValue = "Re-scoring: ";
        text.querySelector("strong").textContent = format.format(data.current);
        text.childNodes[2].nodeValue = " of " + format.format(data.total) + " scored under the current rules. ";
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 3); });
  }
  window.setTimeout(poll, POLL_MS);
})();
