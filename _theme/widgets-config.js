// Loaded before the widget manager (embed-amd.js) on pages with widgets.
//
// 1. The widget manager finds its fonts relative to the RequireJS address of one of its modules
//    (make assets puts them beside each): point RequireJS at this site's own copy, so pages at
//    any depth load them from here, not from a CDN.
require.config({ baseUrl: document.documentElement.dataset.content_root + "_static/" });

// 2. The widget manager typesets widget labels with MathJax 2's API (MathJax.Hub.Queue); this
//    book serves MathJax 3. Once MathJax 3 has loaded (deferred scripts run before
//    DOMContentLoaded, and the widgets render after it), give it the one call they make.
document.addEventListener("DOMContentLoaded", function () {
  var mathjax = window.MathJax;
  if (!mathjax || mathjax.Hub || typeof mathjax.typesetPromise !== "function") { return; }
  mathjax.Hub = {
    Queue: function (job) {
      var element = Array.isArray(job) ? job[2] : undefined;
      mathjax.typesetPromise(element ? [element] : undefined).catch(function () {});
    }
  };
});
