/* Gridbase dashboards: the chart scripts (vega, vega-lite, vega-embed: 830 KB) are fetched
 * once the page has been painted and only when a chart comes near the screen, and charts are drawn as they come into view, one
 * after the other. On a phone the figures at the top of a dashboard appear at once and stay
 * usable while the charts below them are drawn; a chart's figures can always be read in
 * its "show as table" table, drawn by the server. Plain ES2017, no inline scripts (CSP).
 *
 * <div class="dashboard" data-chart-scripts="URL URL URL"> (dashboard.html, only when the
 * dashboard has a chart) lists the scripts in the order they must run; each
 * <div class="chart" data-spec-url> is drawn by app.js (Gridbase.init) once they are here. */
(function () {
  "use strict";
  var loading = null;
  function loadScripts(urls) {
    if (!loading) {
      loading = urls.reduce(function (before, url) {
        return before.then(function () {
          return new Promise(function (resolve, reject) {
            var s = document.createElement("script");
            s.src = url;
            s.onload = resolve;
            s.onerror = function () { reject(new Error(url)); };
            document.head.appendChild(s);
          });
        });
      }, Promise.resolve());
    }
    return loading;
  }

  var queue = [];
  var drawing = false;
  function drawNext() {
    if (drawing || !queue.length) return;
    drawing = true;
    var chart = queue.shift();
    if (window.Gridbase && window.Gridbase.init) window.Gridbase.init(chart);
    // the next chart in a later task: no single long task draws them all
    window.setTimeout(function () { drawing = false; drawNext(); }, 60);
  }

  function start() {
    var board = document.querySelector(".dashboard[data-chart-scripts]");
    if (!board) return;
    var urls = board.getAttribute("data-chart-scripts").split(" ").filter(Boolean);
    var charts = Array.prototype.slice.call(board.querySelectorAll(".chart[data-spec-url]"));
    function show(chart) {
      loadScripts(urls).then(function () { queue.push(chart); drawNext(); })
        .catch(function () { /* no chart: the table beside it still holds its figures */ });
    }
    if (!("IntersectionObserver" in window)) { charts.forEach(show); return; }
    var watch = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        watch.unobserve(entry.target);
        show(entry.target);
      });
    }, { rootMargin: "200px 0px" });
    charts.forEach(function (chart) { watch.observe(chart); });
  }
  // Only once the page has been painted: the figures and the text come first, then charts.
  function afterPaint() {
    window.requestAnimationFrame(function () { window.setTimeout(start, 0); });
  }
  if (document.readyState === "complete") afterPaint();
  else window.addEventListener("load", afterPaint);
})();
