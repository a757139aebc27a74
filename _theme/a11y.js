// Accessibility repairs to markup from the theme and the widget manager, applied before a reader
// (or axe-core) sees it.
// - An element whose aria-label hides its visible text ("Search Ctrl+K", "Show code cell
//   source") gets its text back as its accessible name (WCAG 2.5.3, label in name).
// - Icons inside labelled buttons are decorative: hidden from assistive technology.
// - The table of contents' expand/collapse toggles (<summary> with only an icon) get a name.
// - Widget sliders get the name of their visible label.
// - The bibliography's citation list claims role="list" without list items: drop the claim.
(function () {
  function labelInName(element) {
    var text = element.textContent.replace(/\s+/g, " ").trim();
    var label = element.getAttribute("aria-label") || "";
    if (text && label.toLowerCase().indexOf(text.toLowerCase()) === -1) {
      element.removeAttribute("aria-label");
    }
  }
  function hideIcons(button) {
    button.querySelectorAll("i, svg").forEach(function (icon) {
      icon.setAttribute("aria-hidden", "true");
      icon.removeAttribute("title");
      icon.removeAttribute("aria-labelledby");
      icon.querySelectorAll("title").forEach(function (title) { title.remove(); });
    });
  }
  function nameSummary(summary) {
    if (summary.textContent.trim() || summary.hasAttribute("aria-label")) { return; }
    var link = summary.parentElement.parentElement.querySelector(":scope > a");
    var name = link ? link.textContent.trim() : "this section";
    summary.setAttribute("aria-label", "Show or hide the pages of " + name);
  }
  function nameSlider(handle) {
    if (handle.hasAttribute("aria-label")) { return; }
    var widget = handle.closest(".widget-slider, .widget-hslider, .widget-vslider");
    var label = widget && widget.querySelector(".widget-label");
    handle.setAttribute("aria-label", label && label.textContent.trim() ? label.textContent.trim() : "Slider");
  }
  function repair(root) {
    root.querySelectorAll("button[aria-label], summary[aria-label], a[aria-label]").forEach(labelInName);
    root.querySelectorAll("button[aria-label]").forEach(hideIcons);
    root.querySelectorAll("details > summary").forEach(nameSummary);
    root.querySelectorAll("[role='slider']").forEach(nameSlider);
    root.querySelectorAll(".citation-list[role='list']").forEach(function (list) {
      list.removeAttribute("role");
    });
  }
  function start() {
    repair(document);
    // Widgets and icons are drawn after the page loads: repair them as they appear.
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) {
          if (node.nodeType === 1) { repair(node.parentElement || node); }
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
