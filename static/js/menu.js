// The header's menu is a <details> disclosure and works without this file; with it, the menu
// also closes as other menus do: on Escape (focus goes back to "Menu") and on a tap elsewhere.
(function () {
  var menu = document.querySelector(".nav-menu");
  if (!menu) return;
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", function (event) {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
})();
