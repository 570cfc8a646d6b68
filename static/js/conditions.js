// The composed filter of the panel and segment pages, made tidier: each condition's operator
// list offers only what its field takes (a role "is any of", a count "is at least", ...).
// Without this file every operator is offered, grouped, and a wrong pair gets the server's
// message.
(function () {
  "use strict";

  function fit(field) {
    var row = field.closest(".condition");
    var op = row && row.querySelector("select[data-condition-op]");
    if (!op) { return; }
    var chosen = field.options[field.selectedIndex];
    var allowed = chosen && chosen.dataset.ops ? chosen.dataset.ops.split(" ") : null;
    var firstAllowed = null;
    Array.prototype.forEach.call(op.options, function (option) {
      var ok = !allowed || allowed.indexOf(option.value) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok && firstAllowed === null) { firstAllowed = option; }
    });
    Array.prototype.forEach.call(op.querySelectorAll("optgroup"), function (group) {
      group.hidden = !Array.prototype.some.call(group.children, function (o) { return !o.hidden; });
    });
    var current = op.options[op.selectedIndex];
    if ((!current || current.disabled) && firstAllowed) { firstAllowed.selected = true; }
  }

  Array.prototype.forEach.call(document.querySelectorAll("select[data-condition-field]"), function (field) {
    fit(field);
    field.addEventListener("change", function () { fit(field); });
  });
})();
