// The menu (☰) and contents buttons, on phones and laptops alike.
//
// pydata-sphinx-theme 0.17 draws its own menu and contents buttons in a header bar, and
// sphinx-book-theme draws a second pair in the article header, the only pair a reader sees.
// Both themes attach their handlers to the FIRST ".primary-toggle" / ".secondary-toggle" on
// the page, the hidden pair, so the visible buttons did nothing
// (pydata/pydata-sphinx-theme#2451, executablebooks/sphinx-book-theme#988). A click on a
// visible button is passed to its hidden twin, which does what the themes intend: below 992 px
// it opens the drawer, wider it folds the sidebar away (sphinx-book-theme's handler).
//
// Also: the article header's buttons lose Bootstrap's tooltips (on a phone a tap left
// "Toggle primary sidebar" on screen over the other buttons; the browser's own title tooltip
// remains), they get spoken names, and a phone's header gets the book's title as a home link.
(function () {
  var KINDS = [
    { selector: ".primary-toggle", name: "Site navigation" },
    { selector: ".secondary-toggle", name: "On this page" },
  ];

  function kindOf(button) {
    for (var i = 0; i < KINDS.length; i++) {
      if (button.matches(KINDS[i].selector)) { return KINDS[i]; }
    }
    return null;
  }

  // Capture phase: runs before any handler on the button itself.
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".primary-toggle, .secondary-toggle");
    if (!button) { return; }
    var kind = kindOf(button);
    var bound = document.querySelector(kind.selector);  // the one the themes listen to
    if (!bound || bound === button) { return; }
    event.preventDefault();
    event.stopPropagation();
    bound.click();
    if (kind.selector === ".primary-toggle") {
      var sidebar = document.getElementById("pst-primary-sidebar");
      var folded = sidebar && sidebar.classList.contains("pst-sidebar-hidden");
      button.setAttribute("aria-expanded", window.matchMedia("(min-width: 992px)").matches ? String(!folded) : "false");
    }
  }, true);

  function dropTooltip(element) {
    var title = element.getAttribute("title") || element.getAttribute("data-bs-original-title");
    var tooltip = window.bootstrap && window.bootstrap.Tooltip && window.bootstrap.Tooltip.getInstance(element);
    if (tooltip) { tooltip.dispose(); }
    element.removeAttribute("data-bs-toggle");
    element.removeAttribute("data-bs-original-title");
    if (title) { element.setAttribute("title", title); }
  }

  function nameButtons() {
    document.querySelectorAll(".bd-header-article .primary-toggle, .bd-header-article .secondary-toggle").forEach(function (button) {
      var kind = kindOf(button);
      button.setAttribute("aria-label", kind.name);
      button.setAttribute("title", kind.name);
      if (kind.selector === ".primary-toggle") {
        button.setAttribute("aria-controls", "pst-primary-sidebar");
      }
    });
    document.querySelectorAll(".bd-header-article [data-bs-toggle='tooltip'], .bd-header-article .theme-switch-button, .bd-header-article .search-button").forEach(dropTooltip);
    document.querySelectorAll(".bd-header-article .dropdown-item").forEach(dropTooltip);
  }

  function addHomeLink() {
    var start = document.querySelector(".bd-header-article .header-article-items__start");
    var brand = document.querySelector(".navbar-brand.logo");
    if (!start || !brand || start.querySelector(".aiopen-home")) { return; }
    var title = brand.textContent.replace(/\s+/g, " ").trim() || document.title;
    var link = document.createElement("a");
    link.className = "aiopen-home";
    link.href = brand.getAttribute("href");
    link.textContent = title;
    var item = document.createElement("div");
    item.className = "header-article-item aiopen-home-item";
    item.appendChild(link);
    start.appendChild(item);
  }

  function start() {
    addHomeLink();
    nameButtons();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  // Bootstrap's tooltips are created by the theme once the page has loaded: remove them again.
  window.addEventListener("load", function () { setTimeout(nameButtons, 0); });
})();
