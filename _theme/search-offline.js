// Search in a copy of the book opened as files (file://). Sphinx's search fetches each page it
// finds to show a snippet; browsers refuse to fetch files, so the snippets came out blank.
// Those requests are answered from the page texts in search-texts.js (written at build time).
(function () {
  if (window.location.protocol !== "file:" || !window.fetch) { return; }
  var fetchFromNetwork = window.fetch.bind(window);
  var root = document.documentElement.dataset.content_root || "./";
  var base = new URL(root, window.location.href).href;
  function escape(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  window.fetch = function (resource, options) {
    var texts = window.AIOPEN_PAGE_TEXTS || {};
    var url = new URL(typeof resource === "string" ? resource : resource.url, window.location.href);
    var page = url.href.split("#")[0].split("?")[0];
    if (page.indexOf(base) === 0) {
      var text = texts[decodeURIComponent(page.slice(base.length))];
      if (typeof text === "string") {
        var body = '<div role="main">' + escape(text) + "</div>";
        return Promise.resolve(new Response(body, { headers: { "Content-Type": "text/html" } }));
      }
    }
    return fetchFromNetwork(resource, options);
  };
})();
