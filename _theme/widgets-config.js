// The widget manager (embed-amd.js) finds its fonts relative to its RequireJS module address.
// Point RequireJS at this site's own copy, so every page, at any depth, loads them from here
// rather than from a CDN.
require.config({ baseUrl: document.documentElement.dataset.content_root + "_static/" });
