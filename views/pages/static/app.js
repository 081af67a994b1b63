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
          var url = new URL(String(href), window.location.href);
          if (url.origin === window.location.origin) window.location.assign(url.href);
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
    var status = board && board.parentNode.querySelector(".kanban-status");
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

  /* ---- (d) grid cell editing ----------------------------------------------------------
   * <td class="cell" tabindex="0" data-edit-url="/.../cell" data-kind="text" data-record="rec…"
   *     data-field="key" data-value="raw value" data-options='["A","B"]'> shown value </td>
   * kinds: text number date datetime-local email url tel checkbox select textarea link.
   * Start: double-click, Enter on the focused cell, or a tap on touch screens.
   * Save: Enter (textarea: Enter without Shift) or leaving the input; checkbox/select save on
   * change. Esc cancels. POST value=... -> 200: new <td> (replaces the cell), followed by the
   * <td>s of the record's other fields that changed with it (formulas …), which replace those
   * cells wherever the page shows them; 422: new <td> containing <span class="cell-error">.
   * A date or date-time is never saved half typed (validity.badInput) nor emptied by accident:
   * the old value stays and a short note says why. Emptying it takes the "clear" button or
   * deleting every part of it. A link cell opens its picker (section (i)). */
  var INPUT_KINDS = ["text", "number", "date", "datetime-local", "email", "url", "tel"];
  var DATE_KINDS = ["date", "datetime-local"];

  // Put a saved cell's answer in place (see above); returns the new cell.
  function applyCells(cell, body) {
    var parts = fragments(body);
    var fresh = parts[0];
    if (!fresh || !fresh.matches("td")) return null;
    cell.replaceWith(fresh);
    processNew(fresh);
    init(fresh);
    swapCells(parts.slice(1), fresh);
    return fresh;
  }

  // Put fresh <td>s of a record in place of the page's cells of the same record and field
  // (all of them, grid and record page), unless one is being edited or has not changed.
  function swapCells(parts, keep) {
    parts.forEach(function (td) {
      var rid = td.getAttribute("data-record"), key = td.getAttribute("data-field");
      if (!rid || !key) return;
      var selector = 'td.cell[data-record="' + cssEscape(rid) + '"][data-field="' + cssEscape(key) + '"]';
      document.querySelectorAll(selector).forEach(function (old) {
        if (old === keep || old.classList.contains("is-editing") || old.outerHTML === td.outerHTML) return;
        var copy = td.cloneNode(true);
        old.replaceWith(copy);
        processNew(copy);
        init(copy);
      });
    });
  }

  // Automations may change a record a moment after a save (a status set when an owner is
  // assigned): ask for the record's cells again then, and put those that changed in place.
  var REFRESH_AFTER = [1500, 5000];
  function refreshLater(editUrl) {
    var url = String(editUrl || "").replace(/\/cell\/[^/]*$/, "/cells");
    if (!url || url === editUrl) return;
    REFRESH_AFTER.forEach(function (ms) {
      setTimeout(function () {
        request(url, { headers: { Accept: "text/html" } })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (body) { if (body.trim()) swapCells(fragments(body), null); })
          .catch(function () { /* the next save or a reload shows it */ });
      }, ms);
    });
  }

  function cellError(cell, text) {
    var span = document.createElement("span");
    span.className = "cell-error";
    span.setAttribute("role", "alert");
    span.textContent = text;
    cell.appendChild(span);
  }
  var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)");

  var CELL_ATTRS = ["maxlength", "pattern", "placeholder", "inputmode", "autocomplete", "step", "min", "max"];

  function buildEditor(cell, kind, value) {
    var input;
    if (kind === "textarea") {
      input = document.createElement("textarea");
      input.rows = 4;
      input.value = value;
    } else if (kind === "select") {
      input = document.createElement("select");
      var options = [];
      try { options = JSON.parse(cell.getAttribute("data-options") || "[]"); } catch (e) { options = []; }
      [""].concat(options).forEach(function (opt) {
        var o = document.createElement("option");
        o.value = typeof opt === "object" ? opt.value : opt;
        o.textContent = typeof opt === "object" ? (opt.label || opt.value) : opt;
        o.selected = o.value === value;
        input.appendChild(o);
      });
    } else {
      input = document.createElement("input");
      input.type = kind === "checkbox" || INPUT_KINDS.indexOf(kind) >= 0 ? kind : "text";
      if (kind === "checkbox") input.checked = ["true", "1", "yes", "on"].indexOf(value.toLowerCase()) >= 0;
      else input.value = value;
      if (kind === "number") input.step = "any";
      // The field type's own input attributes (maxlength, pattern, placeholder, inputmode, step, min, max).
      var attrs = {};
      try { attrs = JSON.parse(cell.getAttribute("data-attrs") || "{}"); } catch (e) { attrs = {}; }
      Object.keys(attrs).forEach(function (name) {
        if (CELL_ATTRS.indexOf(name) >= 0) input.setAttribute(name, attrs[name]);
      });
    }
    input.className = "cell-input";
    input.setAttribute("aria-label", cell.getAttribute("data-label") || "");
    return input;
  }

  // opts.initialText: the edit began by typing a character, which replaces the value.
  function startEdit(cell, opts) {
    opts = opts || {};
    if (cell.classList.contains("is-editing")) return;
    var kind = cell.getAttribute("data-kind") || "text";
    if (kind === "link") return openLinkCell(cell);
    var original = cell.innerHTML;
    var value = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    var input = buildEditor(cell, kind, value);
    var isDate = DATE_KINDS.indexOf(kind) >= 0;
    var cleared = false; // a date emptied on purpose: the clear button, or every part deleted
    var done = false;
    var holder = input;
    if (isDate) {
      holder = document.createElement("div");
      holder.className = "date-editor";
      holder.appendChild(input);
      if (value) {
        var clear = document.createElement("button");
        clear.type = "button";
        clear.className = "date-clear";
        clear.textContent = msg("clear", "Clear");
        clear.addEventListener("mousedown", function (e) { e.preventDefault(); }); // the input keeps the focus
        clear.addEventListener("click", function () { cleared = true; input.value = ""; save(); });
        holder.appendChild(clear);
      }
      input.addEventListener("keydown", function (e) {
        if (e.key !== "Backspace" && e.key !== "Delete") return;
        window.setTimeout(function () { cleared = input.value === "" && !input.validity.badInput; }, 0);
      });
    }
    cell.classList.add("is-editing");
    cell.replaceChildren(holder);
    input.focus();
    if (typeof opts.initialText === "string" && INPUT_KINDS.concat(["textarea"]).indexOf(kind) >= 0 && !isDate) {
      input.value = opts.initialText;
    } else if (input.select && kind !== "select" && kind !== "checkbox" && !isDate) input.select();

    function cancel() {
      if (done) return;
      done = true;
      cell.classList.remove("is-editing");
      cell.innerHTML = original;
      cell.focus();
    }
    // Keep the old value and say why (an incomplete date).
    function refuse(text) {
      cancel();
      cellError(cell, text);
    }
    function save() {
      if (done) return;
      if (isDate && input.validity && input.validity.badInput) return refuse(msg("bad-date", "Incomplete date: the old value is kept"));
      var next = kind === "checkbox" ? (input.checked ? "true" : "false") : input.value;
      if (next === value) return cancel(); // nothing changed: no request
      if (isDate && next === "" && !cleared) return refuse(msg("bad-date", "Incomplete date: the old value is kept"));
      done = true;
      input.disabled = true;
      cell.classList.add("is-saving");
      post(cell.getAttribute("data-edit-url"), next)
        .then(function (r) {
          return r.text().then(function (body) {
            var fresh = (r.ok || r.status === 422) && body.trim() && applyCells(cell, body);
            if (!fresh) throw new Error(errorText(body));
            fresh.focus();
            if (r.ok) refreshLater(fresh.getAttribute("data-edit-url"));
          });
        })
        .catch(function (err) {
          cell.classList.remove("is-editing", "is-saving");
          cell.innerHTML = original;
          cellError(cell, err instanceof TypeError ? errorText("") : err.message);
        });
    }

    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); cancel(); }
      else if (e.key === "Enter" && !(kind === "textarea" && e.shiftKey)) { e.preventDefault(); save(); }
    });
    input.addEventListener("blur", save);
    if (kind === "checkbox" || kind === "select") input.addEventListener("change", save);
  }

  function editableCell(target) {
    var cell = target.closest && target.closest("td.cell[data-edit-url]");
    return cell && !cell.classList.contains("is-editing") ? cell : null;
  }

  document.addEventListener("dblclick", function (e) {
    var cell = editableCell(e.target);
    if (cell && !e.target.closest("a, button")) startEdit(cell);
  });
  document.addEventListener("click", function (e) {
    var cell = coarse && coarse.matches && editableCell(e.target);
    if (cell && !e.target.closest("a, button")) startEdit(cell);
  });
  document.addEventListener("keydown", function (e) {
    var cell = e.key === "Enter" && e.target.matches && e.target.matches("td.cell[data-edit-url]") && editableCell(e.target);
    if (cell) { e.preventDefault(); startEdit(cell); }
  });

  // A link cell of the grid: show its picker until the focus leaves the cell or Esc.
  function openLinkCell(cell) {
    var picker = cell.querySelector(".link-picker");
    if (!picker) return;
    initPicker(picker);
    cell.classList.add("is-editing");
    var search = picker.querySelector(".link-search");
    function close() {
      cell.classList.remove("is-editing");
      cell.removeEventListener("focusout", away);
      cell.removeEventListener("keydown", escape);
    }
    function away() {
      window.setTimeout(function () {
        if (cell.isConnected && !cell.contains(document.activeElement)) close();
      }, 0);
    }
    function escape(e) {
      if (e.key !== "Escape") return;
      e.preventDefault();
      close();
      cell.focus();
    }
    cell.addEventListener("focusout", away);
    cell.addEventListener("keydown", escape);
    if (search) search.focus();
  }

  /* ---- (i) linked-record picker -------------------------------------------------------
   * <div class="link-picker" data-search-url="/…/link/FIELD" data-multiple="true|false"
   *      data-name="FIELD" [data-save-url="/…/cell/FIELD"] data-msg-empty data-msg-more>
   *   <ul class="link-chosen"><li class="link-chip" data-id="rec…"><input type="hidden"
   *     name="FIELD" value="rec…"><a>title</a><button class="link-remove">×</button></li></ul>
   *   <div class="link-search-box"><input class="link-search"><ul class="link-results"></ul></div>
   * </div>
   * Typing (or a click on the empty box, or ↓) asks GET data-search-url?q=… → JSON
   * {records: [{id, title}], more}; ↑/↓ move, Enter or a click picks (one record replaces
   * the other when data-multiple is false), × removes one. Without data-save-url the chips'
   * hidden inputs go with their form; with it every change is saved at once as a cell
   * (POST value=ids joined by commas) and the cell is replaced by the answer. */
  function pickerIds(picker) {
    return Array.prototype.map.call(picker.querySelectorAll(".link-chip"), function (li) {
      return li.getAttribute("data-id");
    });
  }

  function savePicker(picker) {
    var cell = picker.closest("td.cell");
    if (!cell) return;
    var open = cell.classList.contains("is-editing");
    var inGrid = !!cell.closest("table.grid");
    var multiple = picker.getAttribute("data-multiple") !== "false";
    var had = document.activeElement && picker.contains(document.activeElement);
    cell.classList.add("is-saving");
    post(picker.getAttribute("data-save-url"), pickerIds(picker).join(","))
      .then(function (r) {
        return r.text().then(function (body) {
          var fresh = (r.ok || r.status === 422) && body.trim() && applyCells(cell, body);
          if (!fresh) throw new Error(errorText(body));
          if (r.ok) refreshLater(picker.getAttribute("data-save-url"));
          var search = fresh.querySelector(".link-search");
          if (inGrid && open && multiple && r.ok) openLinkCell(fresh);
          else if (inGrid) fresh.focus();
          else if (had && search) search.focus();
        });
      })
      .catch(function (err) {
        cell.classList.remove("is-saving");
        cellError(cell, err instanceof TypeError ? errorText("") : err.message);
      });
  }

  function initPicker(picker) {
    if (picker.hasAttribute("data-picker-ready")) return;
    picker.setAttribute("data-picker-ready", "");
    var search = picker.querySelector(".link-search");
    var list = picker.querySelector(".link-results");
    if (!search || !list) return;
    var multiple = picker.getAttribute("data-multiple") !== "false";
    var timer = null, seq = 0, active = -1, items = [];
    var listId = "lr-" + Math.random().toString(36).slice(2);
    list.id = listId;
    search.setAttribute("aria-controls", listId);

    var floating = !!picker.closest("table.grid"); // in a grid cell the list floats over the grid
    function onScroll(e) {
      if (e.target !== list && !list.contains(e.target)) close();
    }
    function close() {
      seq += 1; // answers still on their way are dropped
      window.clearTimeout(timer);
      window.removeEventListener("scroll", onScroll, true);
      list.hidden = true;
      list.replaceChildren();
      search.setAttribute("aria-expanded", "false");
      search.removeAttribute("aria-activedescendant");
      picker.classList.remove("is-loading");
      active = -1;
      items = [];
    }
    function note(text) {
      var li = document.createElement("li");
      li.className = "note";
      li.textContent = text;
      list.appendChild(li);
    }
    function setActive(i, scroll) {
      active = i;
      items.forEach(function (item, n) { item.el.setAttribute("aria-selected", String(n === i)); });
      if (i >= 0) {
        search.setAttribute("aria-activedescendant", items[i].el.id);
        if (scroll) list.scrollTop = Math.max(0, items[i].el.offsetTop - list.clientHeight / 2);
      }
    }
    function show(data) {
      list.replaceChildren();
      items = [];
      var have = pickerIds(picker);
      (data.records || []).forEach(function (rec, n) {
        var li = document.createElement("li");
        li.id = listId + "-" + n;
        li.setAttribute("role", "option");
        li.setAttribute("data-id", rec.id);
        li.textContent = rec.title;
        if (have.indexOf(rec.id) >= 0) li.classList.add("picked");
        li.addEventListener("mousedown", function (e) { e.preventDefault(); }); // the search box keeps the focus
        li.addEventListener("click", function () { pick(rec); });
        list.appendChild(li);
        items.push({ el: li, rec: rec });
      });
      if (!items.length) note(picker.getAttribute("data-msg-empty") || "No matching records");
      if (data.more) note(picker.getAttribute("data-msg-more") || "More records match");
      if (floating) { // fixed under the search box, so the grid's scrolling box does not clip it
        var box = search.getBoundingClientRect();
        list.style.position = "fixed";
        list.style.left = box.left + "px";
        list.style.top = (box.bottom + 2) + "px";
        list.style.right = "auto";
        list.style.width = Math.max(box.width, 220) + "px";
        window.addEventListener("scroll", onScroll, true);
      }
      list.hidden = false;
      search.setAttribute("aria-expanded", "true");
      setActive(items.length ? 0 : -1);
    }
    function query() {
      window.clearTimeout(timer);
      var mine = ++seq;
      picker.classList.add("is-loading");
      var url = picker.getAttribute("data-search-url") + "?q=" + encodeURIComponent(search.value.trim());
      request(url, { headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (data) { if (mine === seq) show(data); })
        .catch(function () {
          if (mine !== seq) return;
          list.replaceChildren();
          items = [];
          note(errorText(""));
          list.hidden = false;
        })
        .then(function () { if (mine === seq) picker.classList.remove("is-loading"); });
    }
    function chip(rec) {
      var li = document.createElement("li");
      li.className = "link-chip";
      li.setAttribute("data-id", rec.id);
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = picker.getAttribute("data-name") || "";
      input.value = rec.id;
      var title = document.createElement("span");
      title.textContent = rec.title;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link-remove";
      remove.textContent = "×";
      var label = picker.getAttribute("data-msg-remove") || "Remove";
      remove.title = label;
      remove.setAttribute("aria-label", label + " " + rec.title);
      li.appendChild(input);
      li.appendChild(title);
      li.appendChild(remove);
      return li;
    }
    function changed() {
      picker.dispatchEvent(new CustomEvent("gridbase:links-changed", { bubbles: true }));
      if (picker.hasAttribute("data-save-url")) savePicker(picker);
    }
    function pick(rec) {
      var chosen = picker.querySelector(".link-chosen");
      var have = pickerIds(picker);
      search.value = "";
      close();
      if (have.indexOf(rec.id) >= 0 && (multiple || have.length === 1)) return; // already there
      if (!multiple) chosen.replaceChildren();
      chosen.appendChild(chip(rec));
      changed();
    }

    picker.addEventListener("click", function (e) {
      var remove = e.target.closest && e.target.closest(".link-remove");
      if (!remove || !picker.contains(remove)) return;
      e.preventDefault();
      var li = remove.closest(".link-chip");
      if (li) li.remove();
      search.focus();
      changed();
    });
    search.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(query, 200);
    });
    search.addEventListener("click", function () { if (list.hidden) query(); });
    search.addEventListener("blur", close);
    search.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden) return query();
        if (items.length) setActive((active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length, true);
      } else if (e.key === "Enter") {
        e.preventDefault(); // never submits the form around it
        if (!list.hidden && active >= 0) pick(items[active].rec);
        else query();
      } else if (e.key === "Escape" && !list.hidden) {
        e.preventDefault();
        e.stopPropagation();
        close();
      }
    });
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
    scope.querySelectorAll(".link-picker").forEach(initPicker);
  }

  if (window.htmx) htmx.onLoad(init); // htmx fires htmx:load for the body and each swap
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(document); });
  else init(document);

  /* The contract other scripts (grid.js, editors.js, live.js) build on; keep it stable. */
  window.Gridbase = {
    init: init, request: request, csrfToken: csrfToken, post: post, msg: msg,
    fragments: fragments, applyCells: applyCells, swapCells: swapCells, cellError: cellError,
    startEdit: startEdit, editableCell: editableCell, errorText: errorText, cssEscape: cssEscape
  };
})();
