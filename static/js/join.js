// The personal join link's page, inside the join window: send its one-button form at once, so
// that opening the link leads straight to the meeting. Without JavaScript the button does it.
(function () {
  var form = document.getElementById("join-form");
  if (form && form.dataset.auto === "1") {
    form.submit();
  }
})();
