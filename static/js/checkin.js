// The check-in page at the door, made quicker: the list filters as you type, "Check in" and
// "Undo" post without reloading the page, and the counts (and check-ins made on another
// phone) refresh every few seconds. Without this file the page still works: the search is a
// GET form and the buttons are POST forms that come back to the list.
(function () {
  "use strict";

  var counts = document.getElementById("door-counts");
  var list = document.getElementById("door-list");
  if (!counts || !list) { return; }
  var status = document.getElementById("door-status");
  var search = document.getElementById("door-search");
  var input = document.getElementById("door-q");
  var none = document.getElementById("door-none");
  var others = document.getElementById("door-others");
  var POLL_MS = 5000;

  function fold(text) {
    // Case- and accent-insensitive: "zoe" finds "Zoë".
    return (text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").trim();
  }

  function say(message) {
    if (status) { status.textContent = message; }
  }

  // Search as you type ------------------------------------------------------------------
  var rows = Array.prototype.slice.call(document.querySelectorAll(".door-row[data-search]"));
  rows.forEach(function (row) { row.dataset.folded = fold(row.dataset.search); });

  function filter() {
    var words = fold(input.value).split(/\s+/).filter(Boolean);
    var shownConfirmed = 0;
    var shownOthers = 0;
    rows.forEach(function (row) {
      var text = row.dataset.folded;
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      row.hidden = !match;
      if (match) {
        if (list.contains(row)) { shownConfirmed += 1; } else { shownOthers += 1; }
      }
    });
    if (none) { none.hidden = shownConfirmed > 0; }
    if (others) { others.open = words.length > 0 && shownOthers > 0; }
  }

  if (search && input) {
    input.addEventListener("input", filter);
    search.addEventListener("submit", function (event) {
      // The list is all here: filter it instead of asking the server again.
      event.preventDefault();
      filter();
    });
    if (input.value) { filter(); } // the page came from a plain search (?q=)
  }

  // Check in and undo without a reload ---------------------------------------------------
  function setRow(id, checkedIn, time) {
    var row = document.getElementById("r" + id);
    if (!row || !list.contains(row)) { return; }
    row.classList.toggle("is-in", checkedIn);
    row.querySelector('[data-part="in"]').hidden = checkedIn;
    row.querySelector('[data-part="out"]').hidden = !checkedIn;
    row.querySelector('[data-part="time"]').textContent = checkedIn ? time : "";
  }

  function showCounts(data) {
    ["expected", "checked_in", "remaining"].forEach(function (name) {
      var cell = counts.querySelector('[data-count="' + name + '"]');
      if (cell && String(data[name]) !== cell.textContent) { cell.textContent = data[name]; }
    });
  }

  function sync(data) {
    showCounts(data);
    var inNow = data.checked_in_ids || {};
    list.querySelectorAll(".door-row").forEach(function (row) {
      var id = row.dataset.id;
      setRow(id, Object.prototype.hasOwnProperty.call(inNow, id), inNow[id] || "");
    });
  }

  function guard(id) {
    // "Undo" appears where "Check in" was: a double tap must not undo the check-in at once.
    var undo = document.querySelector("#r" + id + ' [data-part="out"] button');
    if (!undo) { return; }
    undo.disabled = true;
    window.setTimeout(function () { undo.disabled = false; }, 1500);
  }

  list.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("js-door")) { return; }
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form), // carries the CSRF token of the form
      headers: { "Accept": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) { throw new Error("not json"); }
      return response.json();
    }).then(function (data) {
      button.disabled = false;
      say(data.message);
      if (data.ok) {
        setRow(data.registration.id, data.registration.checked_in, data.registration.checked_in_at);
        showCounts(data.counts);
        if (data.registration.checked_in) { guard(data.registration.id); }
      }
    }).catch(function () {
      // Logged out, offline, or something unexpected: do it the plain way.
      button.disabled = false;
      form.submit();
    });
  });

  // Live counts --------------------------------------------------------------------------
  function poll() {
    if (document.hidden) { return; }
    fetch(counts.dataset.url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { sync(data); } })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }
  window.setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", poll);
})();
