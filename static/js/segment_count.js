// The segment editor's size as you edit it: a moment (300 ms) after the conditions stop
// changing, the draft is counted by the server (manage:segment_count, a GET that changes
// nothing) and the answer goes in the editor's status line, which screen readers announce.
// Without this file the "Count matching people" button does the same with a page load.
(function () {
  "use strict";

  var form = document.querySelector("form[data-count-url]");
  var status = document.getElementById("segment-count");
  if (!form || !status || !window.fetch) { return; }
  var url = form.dataset.countUrl;
  var ROW = /^c-\d{1,3}-(field|op|value)$/;
  var timer = null;
  var asked = 0;

  function say(sentence, number) {
    // The number, if any, in bold where the sentence (translated, /jsi18n/) puts it.
    status.textContent = "";
    var parts = sentence.split("%(count)s");
    status.appendChild(document.createTextNode(parts[0]));
    if (parts.length > 1) {
      var count = document.createElement("strong");
      count.textContent = String(number);
      status.appendChild(count);
      status.appendChild(document.createTextNode(parts.slice(1).join("")));
    }
  }

  function draft() {
    var query = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (input) {
      if (input.name && ROW.test(input.name)) { query.append(input.name, input.value); }
    });
    return query.toString();
  }

  function count() {
    var mine = ++asked;
    fetch(url + "?" + draft(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (mine !== asked) { return; }  // a later edit asked again: its answer is the one
        if (typeof answer.count === "number") {
          say(ngettext("%(count)s person matches these conditions now.",
            "%(count)s people match these conditions now.", answer.count), answer.count);
        } else {
          say(interpolate(gettext("Not counted: %(why)s"), {
            why: answer.error || gettext("these conditions are not complete."),
          }, true));
        }
      })
      .catch(function () {
        if (mine === asked) { say(gettext("Could not count just now: use “Count matching people”.")); }
      });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(count, 300);
  }

  // An existing segment's editor opens with its size.
  if (!status.textContent.trim() && Array.prototype.some.call(form.elements, function (input) {
    return /^c-\d{1,3}-field$/.test(input.name) && input.value;
  })) { count(); }

  form.addEventListener("input", function (event) {
    if (event.target.name && ROW.test(event.target.name)) { later(); }
  });
  form.addEventListener("change", function (event) {
    if (event.target.name && ROW.test(event.target.name)) { later(); }
  });
})();
