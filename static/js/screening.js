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
        // Only the numbers change: the words around them are the page's, in its language.
        text.querySelector(".progress-current").textContent = format.format(data.current);
        text.querySelector(".progress-total").textContent = format.format(data.total);
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 3); });
  }
  window.setTimeout(poll, POLL_MS);
})();
