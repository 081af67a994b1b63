/* Gridbase dashboards: each chart arrives drawn by the server as inline SVG
 * (<div class="chart" data-drawn>, dashboards.py), readable and complete without any script.
 * The chart scripts (vega, vega-lite, vega-embed: 830 KB) are a facade's second half: they are
 * fetched only when a person reaches for a chart (the pointer enters it, a finger touches it, or
 * the focus enters its card), and Vega then draws that chart again in place, with tooltips and
 * marks that open their records. A chart the server could not draw (no data-drawn) is drawn by
 * Vega as it comes into view, as before. A card showing an older drawing while the server draws
 * its newer figures (its caption "Chart as of …") is fetched again once, when that is due.
 * Plain ES2017, no inline scripts (CSP).
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
      loading.catch(function () { loading = null; });  // a failed fetch may be tried again
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
    var asked = [];
    function show(chart) {
      if (asked.indexOf(chart) >= 0) return;
      asked.push(chart);
      loadScripts(urls).then(function () { queue.push(chart); drawNext(); })
        .catch(function () {
          // no Vega: the server's drawing and the table beside it still hold its figures
          asked.splice(asked.indexOf(chart), 1);
        });
    }
    // Reaching for a drawn chart: pointer, touch, or the focus entering its card.
    charts.filter(function (chart) { return chart.hasAttribute("data-drawn"); }).forEach(function (chart) {
      var reach = function () { show(chart); };
      chart.addEventListener("pointerenter", reach);
      chart.addEventListener("touchstart", reach, { passive: true });
      (chart.closest(".dash-card") || chart).addEventListener("focusin", reach);
    });
    refreshStale(board, 2);
    var undrawn = charts.filter(function (chart) { return !chart.hasAttribute("data-drawn"); });
    if (!undrawn.length) return;
    afterPaint(function () {
      if (!("IntersectionObserver" in window)) { undrawn.forEach(show); return; }
      var watch = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (!entry.isIntersecting) return;
          watch.unobserve(entry.target);
          show(entry.target);
        });
      }, { rootMargin: "200px 0px" });
      undrawn.forEach(function (chart) { watch.observe(chart); });
    });
  }
  // A card showing an older drawing (<section data-redraw-in="SECONDS">, "Chart as of …, updating":
  // views/pages/chart_refresh.py) is fetched again once its newer drawing is due, and its drawing,
  // caption and table are taken from the fresh page; `tries` times at most. A chart Vega has drawn
  // (data-chart-ready) keeps Vega's drawing, made from the newest figures, and loses its caption.
  function refreshStale(board, tries) {
    var stale = Array.prototype.slice.call(board.querySelectorAll(".dash-card[data-redraw-in]"));
    if (!stale.length || !tries || !window.fetch || !window.DOMParser) return;
    var wait = Math.max.apply(null, stale.map(function (card) {
      return parseFloat(card.getAttribute("data-redraw-in")) || 1;
    }));
    window.setTimeout(function () {
      window.fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html");
          stale.forEach(function (card) { takeFresh(card, fresh); });
          refreshStale(board, tries - 1);
        })
        .catch(function () { /* the older drawing and its caption stay */ });
    }, (wait + 2) * 1000);  // the drawing is due in `wait` s; drawing a dashboard's charts takes a second or two
  }
  function takeFresh(card, fresh) {
    var now = fresh.querySelector('.dash-card[data-widget="' + card.getAttribute("data-widget") + '"]');
    var chart = card.querySelector(".chart");
    if (!now || !chart) return;
    // Vega has drawn it (the person reached for it) from the newest figures: only the caption goes.
    var vega = chart.hasAttribute("data-chart-ready");
    var drawn = now.querySelector(".chart[data-drawn]");
    if (!vega && drawn) chart.innerHTML = drawn.innerHTML;
    var caption = card.querySelector(".chart-as-of");
    var newer = vega || !drawn ? null : now.querySelector(".chart-as-of");
    if (newer && caption) caption.textContent = newer.textContent;
    else if (caption) caption.parentNode.removeChild(caption);
    else if (newer) chart.parentNode.insertBefore(document.importNode(newer, true), chart.nextSibling);
    if (newer && now.hasAttribute("data-redraw-in")) card.setAttribute("data-redraw-in", now.getAttribute("data-redraw-in"));
    else card.removeAttribute("data-redraw-in");
    var rows = card.querySelector(".chart-table tbody");
    var newRows = now.querySelector(".chart-table tbody");
    if (rows && newRows) rows.innerHTML = newRows.innerHTML;
  }

  // Only once the page has been painted: the figures and the text come first, then Vega.
  function afterPaint(fn) {
    var later = function () { window.requestAnimationFrame(function () { window.setTimeout(fn, 0); }); };
    if (document.readyState === "complete") later();
    else window.addEventListener("load", later);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
