// Widgets for keyboard and screen-reader users (explorers from aiopen.widgets and any other
// widget box drawn from saved state).
// - A slider says its value as the reader sees it ("25 images", not "0"): aria-valuetext is
//   the readout's text, kept up to date.
// - A selection slider's readout is text, not a control: no tab stop, not read twice.
// - After the reader changes a control, a polite live region says what the new panel shows
//   (the controls' values, then the panel's first sentence or its figure's alt text).
(function () {
  var BOX = ".aiopen-explorer, .cell_output .widget-vbox:not(.widget-vbox .widget-vbox)";

  function sliderText(widget) {
    var readout = widget.querySelector(".widget-readout");
    return readout ? readout.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function setupSlider(handle) {
    if (handle.dataset.aiopenSlider) { return; }
    handle.dataset.aiopenSlider = "1";
    var widget = handle.closest(".widget-slider, .widget-hslider, .widget-vslider");
    if (!widget) { return; }
    var readout = widget.querySelector(".widget-readout");
    if (readout && readout.getAttribute("contenteditable") !== "true") {
      readout.setAttribute("tabindex", "-1");
      readout.setAttribute("aria-hidden", "true");
    }
    function update() {
      var text = sliderText(widget);
      if (text && handle.getAttribute("aria-valuetext") !== text) {
        handle.setAttribute("aria-valuetext", text);
      }
    }
    update();
    new MutationObserver(update).observe(widget, {
      subtree: true, childList: true, characterData: true, attributes: true,
      attributeFilter: ["aria-valuenow"],
    });
  }

  function controlValues(box) {
    var values = [];
    box.querySelectorAll(".widget-dropdown, .widget-slider, .widget-toggle-buttons").forEach(function (control) {
      var label = control.querySelector(".widget-label");
      var name = label ? label.textContent.trim() : "";
      var value = "";
      var select = control.querySelector("select");
      if (select && select.selectedIndex >= 0) {
        value = select.options[select.selectedIndex].text;
      } else if (control.matches(".widget-slider")) {
        value = sliderText(control);
      } else {
        var pressed = control.querySelector(".mod-active, [aria-pressed='true']");
        value = pressed ? pressed.textContent.trim() : "";
      }
      if (value) { values.push(name ? name + ": " + value : value); }
    });
    return values;
  }

  function visiblePanel(box) {
    var panels = box.querySelectorAll(".aiopen-panel, .widget-stack .widget-html, .widget-html");
    for (var i = panels.length - 1; i >= 0; i--) {
      if (panels[i].getClientRects().length && !panels[i].closest(".aiopen-title")) { return panels[i]; }
    }
    return null;
  }

  function summary(panel) {
    if (!panel) { return ""; }
    var first = panel.querySelector("p, caption, li");
    var text = first ? first.textContent : "";
    var image = panel.querySelector("img[alt]");
    if (image && text.indexOf(image.getAttribute("alt")) === -1) {
      text += (text ? " " : "") + "Figure: " + image.getAttribute("alt");
    }
    text = text.replace(/\s+/g, " ").trim();
    return text.length > 400 ? text.slice(0, 397) + "..." : text;
  }

  function setupBox(box) {
    if (box.dataset.aiopenBox || !box.querySelector(".widget-dropdown, .widget-slider, .widget-toggle-buttons")) { return; }
    box.dataset.aiopenBox = "1";
    box.classList.add("aiopen-explorer");
    var live = document.createElement("div");
    live.className = "aiopen-live visually-hidden";
    live.setAttribute("role", "status");
    live.setAttribute("aria-live", "polite");
    box.appendChild(live);
    var touched = false, timer = null;
    ["input", "change", "keydown", "pointerdown", "click"].forEach(function (type) {
      box.addEventListener(type, function () { touched = true; }, true);
    });
    function announce() {
      timer = null;
      if (!touched) { return; }
      var message = controlValues(box).join(", ");
      var text = summary(visiblePanel(box));
      message = message + (message && text ? ". " : "") + text;
      if (message && live.textContent !== message) { live.textContent = message; }
    }
    new MutationObserver(function (changes) {
      if (changes.every(function (c) { return c.target === live || live.contains(c.target); })) { return; }
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(announce, 250);
    }).observe(box, { subtree: true, attributes: true, attributeFilter: ["class", "style", "aria-valuenow"], childList: true });
  }

  function repair(root) {
    root.querySelectorAll("[role='slider']").forEach(setupSlider);
    root.querySelectorAll(BOX).forEach(setupBox);
  }

  function start() {
    repair(document);
    var pending = null;
    new MutationObserver(function () {
      if (pending) { return; }
      pending = setTimeout(function () { pending = null; repair(document); }, 100);
    }).observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
