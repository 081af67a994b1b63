/* Gridbase front-end glue. Plain ES2017, no build step, no inline scripts (strict CSP).
 * Load with <script defer src="/static/app.js"> AFTER the vendored scripts (see
 * static/vendor/README.md). Everything hooks in through data-* attributes and classes; the
 * contract is listed in each section below. Works with or without htmx on the page. */
(function () {
  "use strict";

  /* ---- htmx settings for a strict CSP and patient data ------------------------------
   * Runs before htmx's DOMContentLoaded set-up (both scripts are deferred), so a
   * <meta name="htmx-config"> in the page may still override these. */
  if (window.htmx) {
    htmx.config.allowEval = false;              // no hx-on / js: / eval-style features
    htmx.config.allowScriptTags = false;        // never run <script> in swapped content
    htmx.config.includeIndicatorStyles = false; // would inject an inline <style>; see app.css
    htmx.config.historyCacheSize = 0;           // keep no page copies in localStorage
    htmx.config.refreshOnHistoryMiss = true;    // so Back reloads from the server instead
  }

  /* ---- (a) CSRF: <meta name="csrf-token" content="..."> ----------------------------- */
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  // Every htmx request carries the token as X-CSRF-Token.
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // fetch() for our own endpoints: same-origin cookies, CSRF and HX-Request headers.
  function request(url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    headers.set("X-CSRF-Token", csrfToken());
    headers.set("HX-Request", "true"); // the server answers with a fragment, as for htmx
    return fetch(url, Object.assign({}, options, { headers: headers, credentials: "same-origin" }));
  }

  function post(url, value) {
    return request(url, { method: "POST", body: new URLSearchParams({ value: value }) });
  }

  // Parse an HTML fragment (a <td>, a card ...) into its first element. <template> parses
  // table parts like <td> correctly, unlike a <div>.
  function fragment(html) {
    return fragments(html)[0] || null;
  }

  // Every top-level element of an HTML fragment.
  function fragments(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return Array.prototype.slice.call(t.content.children);
  }

  // A message of the page's language, from <body data-msg-NAME="...">.
  function msg(name, fallback) {
    return document.body.getAttribute("data-msg-" + name) || fallback;
  }

  function cssEscape(text) {
    return window.CSS && CSS.escape ? CSS.escape(text) : String(text).replace(/["\\]/g, "\\$&");
  }

  // Plain text of an error body (text or HTML), shortened.
  function errorText(body) {
    var text = new DOMParser().parseFromString(body || "", "text/html").body.textContent || "";
    text = text.replace(/\s+/g, " ").trim();
    return text.slice(0, 300) || document.body.getAttribute("data-msg-error") || "Something went wrong";
  }

  // Let htmx wire up attributes inside content we inserted ourselves.
  function processNew(el) {
    if (window.htmx && el) htmx.process(el);
  }

  /* ---- (b) charts: <div class="chart" data-spec-url="/..."> --------------------------
   * GET data-spec-url -> Vega-Lite JSON (data inlined; no data.url to outside hosts).
   * A click on a mark whose datum has an `href` field goes to that same-origin URL. */
  function renderChart(el) {
    if (el.hasAttribute("data-chart-ready") || !window.vegaEmbed) return;
    el.setAttribute("data-chart-ready", "");
    request(el.getAttribute("data-spec-url"), { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (spec) {
        // ast: true -> vega interprets expressions instead of compiling them to code at run time.
        // defaultStyle / disableDefaultStyle: vega-embed and its tooltip would inject <style>
        // elements, which the CSP blocks; their rules are in app.css instead.
        return vegaEmbed(el, spec, {
          actions: false, renderer: "svg", ast: true,
          defaultStyle: false, tooltip: { disableDefaultStyle: true }
        });
      })
      .then(function (result) {
        result.view.addEventListener("click", function (event, item) {
          var href = item && item.datum && item.datum.href;
          if (!href) return;
          var target = new URL(url(href), window.location.href);
          if (target.origin === window.location.origin) window.location.assign(target.href);
        });
      })
      .catch(function (err) {
        el.removeAttribute("data-chart-ready");
        var p = document.createElement("p");
        p.className = "chart-error";
        p.textContent = (document.body.getAttribute("data-msg-error") || "Something went wrong") +
          " (" + err.message + ")";
        el.replaceChildren(p);
      });
  }

  /* ---- (c) kanban ---------------------------------------------------------------------
   * <div class="kanban-column" data-value="处理中"> [<span class="count">] <div class="cards">
   *   <article class="card" data-move-url="/.../move"> ... </article> </div> </div>
   * Drop in another column -> POST value=<column data-value> to the card's data-move-url.
   * 2xx: body (if any) is the updated card's HTML and replaces it. Else the card goes back
   * and the response text shows in a <p class="card-error"> inside the card.
   * Keyboard: a movable card is a Tab stop; Alt+← / Alt+→ moves it to the column before or
   * after, the same request as a drop; <p class="kanban-status" aria-live="polite"> says where
   * it went, and the focus stays on the card. */
  function updateCounts() {
    document.querySelectorAll(".kanban-column").forEach(function (col) {
      var count = col.querySelector(".count");
      if (count) count.textContent = col.querySelectorAll(".cards > .card").length;
    });
  }

  function moveCard(evt) {
    var card = evt.item;
    var from = evt.from, oldIndex = evt.oldIndex;
    if (evt.to === from) return; // order inside a column is not stored
    var column = evt.to.closest(".kanban-column");
    var old = card.querySelector(".card-error");
    if (old) old.remove();
    card.classList.add("is-saving");
    updateCounts();
    function putBack(message) {
      card.classList.remove("is-saving");
      from.insertBefore(card, from.children[oldIndex] || null);
      var p = document.createElement("p");
      p.className = "card-error";
      p.setAttribute("role", "alert");
      p.textContent = message;
      card.appendChild(p);
      updateCounts();
    }
    post(card.getAttribute("data-move-url"), column.getAttribute("data-value") || "")
      .then(function (r) {
        return r.text().then(function (body) {
          if (!r.ok) return putBack(errorText(body));
          card.classList.remove("is-saving");
          var fresh = body.trim() && fragment(body);
          if (fresh) { card.replaceWith(fresh); processNew(fresh); }
          if (evt.keyboard) {
            var moved = fresh || card;
            moved.focus();
            announce(moved.closest(".kanban"), column);
          }
        });
      })
      .catch(function () { putBack(errorText("")); });
  }

  // Say in the board's live region which column a card went to (keyboard moves).
  function announce(board, column) {
    var status = board && document.querySelector(".kanban-status");
    var label = column.querySelector("header .badge");
    if (status) status.textContent = (status.getAttribute("data-msg-moved") || "Moved to") + " " +
      (label ? label.textContent.trim() : "");
  }

  // Alt+Left / Alt+Right on a focused movable card: move it to the column before or after.
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) return;
    var card = e.target.closest && e.target.closest(".kanban .card[data-move-url]");
    if (!card || e.target !== card) return;
    var column = card.closest(".kanban-column");
    var next = e.key === "ArrowLeft" ? column.previousElementSibling : column.nextElementSibling;
    while (next && !next.matches(".kanban-column")) next = e.key === "ArrowLeft" ? next.previousElementSibling : next.nextElementSibling;
    if (!next) return;
    e.preventDefault();
    var from = card.parentNode, to = next.querySelector(".cards");
    var oldIndex = Array.prototype.indexOf.call(from.children, card);
    to.insertBefore(card, to.firstChild);
    card.focus();
    moveCard({ item: card, from: from, to: to, oldIndex: oldIndex, keyboard: true });
  });

  function initKanban(list) {
    if (list.hasAttribute("data-sortable-ready") || !window.Sortable) return;
    list.setAttribute("data-sortable-ready", "");
    Sortable.create(list, {
      group: "kanban",
      sort: false,                 // no manual order within a column
      draggable: ".card",
      filter: ".card-error, a, button, input, select, textarea",
      preventOnFilter: false,      // links and buttons inside cards stay clickable
      animation: 150,
      delay: 150, delayOnTouchOnly: true, // a short press before dragging, so phones can scroll
      ghostClass: "card-ghost",
      onEnd: moveCard
    });
  }

  /* ---- (d) cells: a saved cell's answer put in place ----------------------------------
   * <td class="cell" tabindex="0" data-edit-url="/.../cell" data-widget="text" data-record="rec…"
   *     data-field="key" data-value="raw value"> shown value </td>
   * The editors themselves (Gridbase.startEdit, one per widget, the linked-record picker) are
   * in editors.js. A save answers 200 with the new <td> (it replaces the cell), followed by the
   * <td>s of the record's other fields that changed with it (formulas …), which replace those
   * cells wherever the page shows them; 422 with the <td> holding <span class="cell-error">. */
  // Put a saved cell's answer in place (see above); returns the new cell.
  function applyCells(cell, body) {
    var parts = fragments(body);
    var fresh = parts[0];
    if (!fresh || !fresh.matches("td")) return null;
    fresh.gbServed = fresh.outerHTML;
    cell.replaceWith(fresh);
    processNew(fresh);
    init(fresh);
    swapCells(parts.slice(1), fresh);
    return fresh;
  }

  // Put fresh <td>s of a record in place of the page's cells of the same record and field
  // (all of them, grid and record page), unless one is being edited or has not changed.
  // "Not changed" is judged against what the server sent for the cell (gbServed, kept when it
  // is put in place; grid.js keeps it for the cells it decorates): the page adds roles and
  // states of its own, and a cell redrawn for nothing under a click (its press on the old
  // element, its release on the new one) loses the click.
  function unchanged(old, html) {
    return (old.gbServed || old.outerHTML) === html && !old.querySelector(".cell-error");
  }
  function swapCells(parts, keep) {
    parts.forEach(function (td) {
      var rid = td.getAttribute("data-record"), key = td.getAttribute("data-field");
      if (!rid || !key) return;
      var html = td.outerHTML;
      var selector = 'td.cell[data-record="' + cssEscape(rid) + '"][data-field="' + cssEscape(key) + '"]';
      document.querySelectorAll(selector).forEach(function (old) {
        if (old === keep || old.classList.contains("is-editing") || unchanged(old, html)) return;
        var copy = td.cloneNode(true);
        copy.gbServed = html;
        // A cell redrawn under the person's focus keeps it (the next key still works on it)
        var focused = old === document.activeElement;
        old.replaceWith(copy);
        processNew(copy);
        init(copy);
        if (focused && document.activeElement !== copy) copy.focus({ preventScroll: true });
      });
    });
  }

  function cellError(cell, text) {
    var span = document.createElement("span");
    span.className = "cell-error";
    span.setAttribute("role", "alert");
    span.textContent = text;
    cell.appendChild(span);
  }
  /* ---- (j) a form is not sent with a half-typed date: the browser would send it empty -- */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.querySelectorAll) return;
    var bad = Array.prototype.filter.call(form.querySelectorAll("input[type=date], input[type=datetime-local]"),
      function (input) { return input.validity && input.validity.badInput; });
    if (!bad.length) return;
    e.preventDefault();
    bad.forEach(function (input) {
      var field = input.closest(".field") || input.parentNode;
      field.classList.add("has-error");
      var note = field.querySelector(".field-error.incomplete-date");
      if (!note) {
        note = document.createElement("div");
        note.className = "field-error incomplete-date";
        note.setAttribute("role", "alert");
        field.appendChild(note);
      }
      note.textContent = msg("incomplete-date", "This date is incomplete: complete it or clear it");
    });
    bad[0].focus();
  }, true);

  /* ---- (e) <button data-confirm="Delete this record?"> --------------------------------
   * Capture phase, so it runs before htmx or a form submit sees the click. */
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  /* ---- (f) <form class="lang-switch"><select name="locale"> submits on change ---------- */
  document.addEventListener("change", function (e) {
    var select = e.target;
    if (!select.matches || !select.matches(".lang-switch select") || !select.form) return;
    if (select.form.requestSubmit) select.form.requestSubmit(); else select.form.submit();
  });

  /* ---- (g) <button class="sidebar-toggle" aria-controls="sidebar" aria-expanded="false">
   * toggles body.sidebar-open (phones); a click outside the open sidebar closes it. */
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest && e.target.closest(".sidebar-toggle");
    var open = document.body.classList.contains("sidebar-open");
    if (toggle) { e.preventDefault(); open = !open; } // an <a href> toggle still works without JS
    else if (!open || e.target.closest(".sidebar")) return;
    else open = false;
    document.body.classList.toggle("sidebar-open", open);
    document.querySelectorAll(".sidebar-toggle").forEach(function (b) {
      b.setAttribute("aria-expanded", String(open));
    });
  });

  /* ---- (h) <a class="inbox-link" data-count-url="/inbox/count"> keeps its unread badge
   * current: live.js tells it as soon as the count changes (the event "gridbase:unread" on
   * document, detail {unread: n}, from the page's live stream); as a fallback this asks every 2 minutes while the page is visible, and at once
   * when the window gets the focus back. The server counts to 100; the badge shows "99+". */
  var UNREAD_POLL = 120000;
  function setUnread(count) {
    var link = document.querySelector(".inbox-link[data-count-url]");
    if (!link || typeof count !== "number") return;
    var badge = link.querySelector(".badge");
    if (count <= 0) { if (badge) badge.remove(); return; }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge opt-red";
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    badge.textContent = count < 100 ? String(count) : "99+";
  }
  function refreshUnread() {
    var link = document.querySelector(".inbox-link[data-count-url]");
    if (!link || document.visibilityState === "hidden") return;
    fetch(link.getAttribute("data-count-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) { if (data) setUnread(data.unread); })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }
  document.addEventListener("gridbase:unread", function (e) { if (e.detail) setUnread(e.detail.unread); });
  if (document.querySelector(".inbox-link[data-count-url]")) {
    window.setInterval(refreshUnread, UNREAD_POLL);
    window.addEventListener("focus", refreshUnread);
    document.addEventListener("visibilitychange", refreshUnread);
  }

  /* ---- start-up, and again for every piece of content htmx swaps in ------------------- */
  function init(root) {
    root = root || document;
    var scope = root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches(".chart[data-spec-url]")) renderChart(scope);
    scope.querySelectorAll(".chart[data-spec-url]").forEach(renderChart);
    if (scope.matches && scope.matches(".kanban-column .cards")) initKanban(scope);
    scope.querySelectorAll(".kanban-column .cards").forEach(initKanban);
    initHooks.forEach(function (hook) { hook(scope); });
  }
  // Other scripts (editors.js ...) set up their part of new content through Gridbase.onInit.
  var initHooks = [];
  function onInit(hook) { initHooks.push(hook); }

  /* Where this workspace is served: "" alone, "/w/NAME" as one workspace of a group (<body data-root>);
   * url("/b/…") is that path under it (links the server writes are under it already). */
  function root() { return (document.body && document.body.getAttribute("data-root")) || ""; }
  function url(path) {
    var r = root();
    path = String(path);
    if (!r || path.charAt(0) !== "/" || path.charAt(1) === "/" || path === r || path.indexOf(r + "/") === 0) return path;
    return r + path;
  }

  if (window.htmx) htmx.onLoad(init); // htmx fires htmx:load for the body and each swap
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(document); });
  else init(document);

  /* The contract other scripts (grid.js, editors.js, live.js) build on; keep it stable. */
  window.Gridbase = {
    init: init, request: request, csrfToken: csrfToken, post: post, msg: msg,
    fragments: fragments, applyCells: applyCells, swapCells: swapCells, cellError: cellError,
    errorText: errorText, cssEscape: cssEscape, onInit: onInit, root: root, url: url,
    // The editors are editors.js's (Gridbase.editing); these hand on to them, so a script that
    // kept a reference to them before editors.js ran still reaches them.
    startEdit: function (cell, opts) {
      var impl = window.Gridbase.editing;
      return impl ? impl.startEdit(cell, opts) : undefined;
    },
    editableCell: function (target) {
      var impl = window.Gridbase.editing;
      return impl ? impl.editableCell(target) : null;
    },
    editors: {}
  };
})();
