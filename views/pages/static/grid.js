/* The grid as a spreadsheet: keyboard moves, ranges, copy and paste, fill, bulk edits,
 * undo, rows fetched as you scroll, columns laid out per person, the summary bar, cards on
 * phones. Plain ES2017, no build step; loaded after app.js and built on window.Gridbase.
 *
 * Contract with the page (templates/table.html, _grid_rows.html):
 *   <table class="grid" role="grid" data-total data-offset data-base-url data-query
 *          data-table-url data-columns-url data-summary-url data-layout data-frozen data-msg-*>
 *   <tr data-id data-index data-url aria-rowindex> <td class="row-num"> <td class="cell"
 *       data-record data-field [data-edit-url data-kind data-value]> …
 * The server renders every row (GET {base}/rows?offset=&limit=, ?ids=): nothing a person may
 * not read is ever drawn here from raw data. Writes: POST {table}/cells {"changes": [...]},
 * {table}/undo, {table}/redo (views/pages/undo.py), {base}/delete, {base}/columns. */
(function () {
  "use strict";
  var G = window.Gridbase;
  var table = document.querySelector("table.grid[role=grid]");
  if (!G || !table) return;
  var wrap = table.closest(".grid-wrap") || table.parentNode;
  var tbody = table.tBodies[0];
  // The first screen of a big view comes without a count; …/count tells it a moment later.
  var totalKnown = table.getAttribute("data-total") !== "";
  var total = parseInt(table.getAttribute("data-total") || "0", 10);
  var baseUrl = table.getAttribute("data-base-url");
  var tableUrl = table.getAttribute("data-table-url");
  var query = table.getAttribute("data-query") || "";
  var statusEl = document.querySelector(".grid-status");
  var BLOCK = 60, MAX_LOADED = 400, MAX_PX = 8000000; // a block of 60 rows is drawn in about 100 ms
  var fields = Array.prototype.map.call(table.querySelectorAll("thead th[data-field]"), function (th) {
    return th.getAttribute("data-field");
  });
  var layout = {};
  try { layout = JSON.parse(table.getAttribute("data-layout") || "{}") || {}; } catch (e) { layout = {}; }
  var phone = window.matchMedia ? window.matchMedia("(max-width: 599px)") : { matches: false };
  document.body.classList.add("grid-js");

  function say(text) { if (statusEl) statusEl.textContent = text || ""; }
  function tmsg(name, fallback) { return table.getAttribute("data-msg-" + name) || fallback; }
  function withQuery(url, extra) {
    var parts = [query, extra].filter(Boolean).join("&");
    return url + (parts ? "?" + parts : "");
  }

  /* ---- rows and cells ----------------------------------------------------------------- */
  function dataRows() { return Array.prototype.slice.call(tbody.querySelectorAll("tr[data-index]")); }
  function rowAt(index) { return tbody.querySelector('tr[data-index="' + index + '"]'); }
  function cellsOf(tr) { return tr ? Array.prototype.slice.call(tr.querySelectorAll("td.cell")) : []; }
  function cellAt(index, col) { return cellsOf(rowAt(index))[col] || null; }
  function posOf(td) {
    var tr = td.closest("tr[data-index]");
    if (!tr) return null;
    return { row: parseInt(tr.getAttribute("data-index"), 10), col: cellsOf(tr).indexOf(td) };
  }
  function editable(td) { return !!(td && td.hasAttribute("data-edit-url")); }

  // Roles and states a screen reader (and a test) reads; one tab stop for the whole grid.
  var primary = table.getAttribute("data-primary") || "";
  function decorate(td) {
    // What the server sent, before the roles and states below: app.js swapCells redraws a cell
    // only when the server sends something else.
    if (td.gbServed === undefined) td.gbServed = td.outerHTML;
    td.setAttribute("role", "gridcell");
    td.classList.toggle("is-primary", !!primary && td.getAttribute("data-field") === primary);
    td.setAttribute("aria-readonly", editable(td) ? "false" : "true");
    td.classList.toggle("is-readonly", !editable(td));
    if (!td.hasAttribute("aria-selected")) td.setAttribute("aria-selected", "false");
    td.tabIndex = -1;
    // What a cell holds (linked records' chips, their remove buttons) is no Tab stop of its
    // own either: the arrows move between cells, Enter edits, Shift+Space opens the record.
    if (!td.classList.contains("is-editing")) {
      Array.prototype.forEach.call(td.querySelectorAll("a[href], button, input, select, textarea"), function (el) { el.tabIndex = -1; });
    }
  }
  function decorateAll(root) {
    Array.prototype.forEach.call((root || tbody).querySelectorAll("td.cell"), decorate);
    if (root && root.matches && root.matches("td.cell")) decorate(root);
    // A row's number links to its record: not a Tab stop of its own (one Tab stop for the
    // whole grid); Shift+Space on any cell of the row opens the record instead.
    Array.prototype.forEach.call((root || tbody).querySelectorAll(".row-num a[href]"), function (a) { a.tabIndex = -1; });
  }

  /* ---- selection: an active cell, a range from the anchor, whole rows --------------- */
  var active = null;   // {row, col}
  var anchor = null;   // the range's other corner
  var pickedRows = {}; // record id -> true
  function range() {
    if (!active) return null;
    var a = anchor || active;
    return { r1: Math.min(a.row, active.row), r2: Math.max(a.row, active.row),
      c1: Math.min(a.col, active.col), c2: Math.max(a.col, active.col) };
  }
  function paint() {
    var r = range();
    dataRows().forEach(function (tr) {
      var i = parseInt(tr.getAttribute("data-index"), 10);
      var rowPicked = !!pickedRows[tr.getAttribute("data-id")];
      tr.setAttribute("aria-selected", String(rowPicked));
      tr.classList.toggle("is-picked", rowPicked);
      var box = tr.querySelector(".row-select");
      if (box) box.checked = rowPicked;
      cellsOf(tr).forEach(function (td, c) {
        var inside = !!r && i >= r.r1 && i <= r.r2 && c >= r.c1 && c <= r.c2;
        var isActive = !!active && active.row === i && active.col === c;
        td.setAttribute("aria-selected", String(inside || rowPicked));
        td.classList.toggle("in-range", inside && (r.r1 !== r.r2 || r.c1 !== r.c2));
        td.classList.toggle("is-active", isActive);
        td.tabIndex = isActive ? 0 : -1;
      });
    });
    var corner = r && cellAt(r.r2, r.c2);
    var want = corner && editable(corner) && !corner.classList.contains("is-editing") ? corner : null;
    table.querySelectorAll(".fill-handle").forEach(function (h) { if (h.parentNode !== want) h.remove(); });
    if (want && !want.querySelector(".fill-handle")) {
      var handle = document.createElement("span");
      handle.className = "fill-handle";
      handle.setAttribute("aria-hidden", "true");
      want.appendChild(handle);
    }
    updateSelectionBar();
  }
  function focusCell(extend) {
    var td = active && cellAt(active.row, active.col);
    if (!extend) anchor = null;
    paint();
    if (td) {
      td.focus({ preventScroll: true });
      scrollIntoView(td);
    }
  }
  function scrollIntoView(td) {
    var box = wrap.getBoundingClientRect(), cell = td.getBoundingClientRect();
    var head = table.tHead ? table.tHead.getBoundingClientRect().height : 0;
    var foot = table.tFoot ? table.tFoot.getBoundingClientRect().height : 0;
    if (cell.top < box.top + head) wrap.scrollTop -= box.top + head - cell.top;
    else if (cell.bottom > box.bottom - foot) wrap.scrollTop += cell.bottom - box.bottom + foot;
    var frozenRight = box.left;
    table.querySelectorAll("thead th.is-frozen, thead th.row-num").forEach(function (th) {
      frozenRight = Math.max(frozenRight, th.getBoundingClientRect().right);
    });
    if (!td.classList.contains("is-frozen")) {
      if (cell.left < frozenRight) wrap.scrollLeft -= frozenRight - cell.left;
      else if (cell.right > box.right) wrap.scrollLeft += cell.right - box.right;
    }
  }
  function moveTo(row, col, extend) {
    row = Math.max(0, Math.min(total - 1, row));
    col = Math.max(0, Math.min(fields.length - 1, col));
    if (extend && !anchor) anchor = active;
    return ensureRow(row).then(function () {
      if (!rowAt(row)) return;
      active = { row: row, col: col };
      focusCell(extend);
    });
  }

  /* ---- virtual scrolling: a window of loaded rows between two spacers ---------------- */
  var rowH = 33, lo = 0, hi = 0, loading = null, jumpSeq = 0;
  var topSpacer = spacer("spacer-top"), bottomSpacer = spacer("spacer-bottom");
  function spacer(name) {
    var tr = document.createElement("tr");
    tr.className = "spacer " + name;
    tr.setAttribute("aria-hidden", "true");
    var td = document.createElement("td");
    td.colSpan = fields.length + 1;
    tr.appendChild(td);
    return tr;
  }
  function perRow() { return rowH * Math.min(1, MAX_PX / Math.max(1, total * rowH)); }
  function setSpacers() {
    topSpacer.firstChild.style.height = Math.round(lo * perRow()) + "px";
    bottomSpacer.firstChild.style.height = Math.round(Math.max(0, total - hi) * perRow()) + "px";
    topSpacer.hidden = lo === 0;
    bottomSpacer.hidden = hi >= total;
  }
  function initWindow() {
    var rows = dataRows();
    if (!rows.length) { lo = hi = 0; return; }
    lo = parseInt(rows[0].getAttribute("data-index"), 10);
    hi = parseInt(rows[rows.length - 1].getAttribute("data-index"), 10) + 1;
    tbody.insertBefore(topSpacer, tbody.firstChild);
    tbody.appendChild(bottomSpacer);
    setSpacers();
    // A row's height is read once the page has been laid out and painted: read now, it would
    // make the browser lay the whole page out again inside this script (a long task on a phone).
    var first = rows[0];
    requestAnimationFrame(function () {
      setTimeout(function () {
        if (first.isConnected && first.offsetHeight && first.offsetHeight !== rowH) {
          rowH = first.offsetHeight;
          setSpacers();
        }
      }, 0);
    });
  }
  function fetchRows(offset, limit) {
    return G.request(withQuery(baseUrl + "/rows", "offset=" + offset + "&limit=" + limit + (totalKnown ? "&total=" + total : "")), { headers: { Accept: "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (body) { return G.fragments(body).filter(function (el) { return el.matches("tr"); }); });
  }
  function insertRows(rows, before) {
    var frag = document.createDocumentFragment();
    rows.forEach(function (tr) { frag.appendChild(tr); });
    tbody.insertBefore(frag, before);
    rows.forEach(function (tr) { decorateAll(tr); G.init(tr); applyFrozen(tr); });
  }
  // Loads rows [from, from+BLOCK) next to the window (or as a new window) and keeps at most MAX_LOADED.
  function load(from, mode) {
    if (loading) return loading;
    from = Math.max(0, Math.min(from, Math.max(0, total - 1)));
    var limit = mode === "before" ? Math.min(BLOCK, lo) : BLOCK;
    if (mode === "before") from = lo - limit;
    if (limit <= 0) return Promise.resolve();
    var seq = ++jumpSeq;
    loading = fetchRows(from, limit).then(function (rows) {
      if (seq !== jumpSeq) return;
      var got = rows.filter(function (tr) { return tr.hasAttribute("data-index"); }).length;
      if (mode === "after") {
        insertRows(rows, bottomSpacer);
        hi = Math.min(total, hi + got);
        trim("top");
      } else if (mode === "before") {
        var keep = wrap.scrollTop;
        insertRows(rows, topSpacer.nextSibling);
        lo = Math.max(0, lo - got);
        setSpacers();
        wrap.scrollTop = keep + got * (rowH - perRow());
        trim("bottom");
      } else {
        dataRows().concat(Array.prototype.slice.call(tbody.querySelectorAll("tr.group-row, tr.empty-row")))
          .forEach(function (tr) { tr.remove(); });
        lo = from;
        hi = Math.min(total, from + got);
        insertRows(rows, bottomSpacer);
      }
      setSpacers();
      paint();
    }).catch(function (err) { say(G.errorText(err.message)); })
      .then(function () { loading = null; });
    return loading;
  }
  function trim(side) {
    var rows = dataRows();
    var extra = rows.length - MAX_LOADED;
    if (extra <= 0) return;
    if (side === "top") {
      var keep = wrap.scrollTop;
      var cut = rows.slice(0, extra);
      cut.forEach(function (tr) {
        var prev = tr.previousElementSibling;
        if (prev && prev.classList.contains("group-row")) prev.remove();
        tr.remove();
      });
      lo += extra;
      setSpacers();
      wrap.scrollTop = keep - extra * (rowH - perRow());
    } else {
      rows.slice(rows.length - extra).forEach(function (tr) { tr.remove(); });
      hi -= extra;
      setSpacers();
    }
  }
  function ensureRow(index) {
    if (index >= lo && index < hi && rowAt(index)) return Promise.resolve();
    if (loading) return loading.then(function () { return ensureRow(index); });
    var p;
    if (index === hi) p = load(hi, "after");
    else if (index === lo - 1) p = load(lo, "before");
    else p = load(Math.max(0, Math.min(index - Math.floor(BLOCK / 2), total - BLOCK)), "jump");
    return p.then(function () {
      var tr = rowAt(index);
      if (tr) tr.scrollIntoView({ block: "nearest" });
    });
  }
  var ticking = false;
  function onScroll() {
    if (ticking) return;
    ticking = true;
    window.requestAnimationFrame(function () {
      ticking = false;
      if (loading || !total) return;
      var top = wrap.scrollTop, view = wrap.clientHeight;
      var loadedTop = topSpacer.hidden ? 0 : topSpacer.offsetTop + topSpacer.offsetHeight;
      var loadedBottom = bottomSpacer.hidden ? table.offsetHeight : bottomSpacer.offsetTop;
      if (top + view < loadedTop - view || top > loadedBottom + view) {
        var target = Math.floor(top / perRow());
        load(Math.max(0, Math.min(target - 10, total - BLOCK)), "jump").then(onScroll);
      } else if (hi < total && top + view > loadedBottom - view) load(hi, "after").then(onScroll);
      else if (lo > 0 && top < loadedTop + view / 2) load(lo, "before").then(onScroll);
    });
  }

  /* ---- copy: the range as TSV, as the page shows it ---------------------------------- */
  function cellText(td) {
    var chips = td.querySelectorAll(".link-chip a, .link-chip span");
    if (chips.length) return Array.prototype.map.call(chips, function (el) { return el.textContent.trim(); }).join(", ");
    var badges = td.querySelectorAll(".badge");
    if (badges.length) return Array.prototype.map.call(badges, function (el) { return el.textContent.trim(); }).join(", ");
    var copy = td.cloneNode(true);
    copy.querySelectorAll(".cell-error, .fill-handle, button, .link-search-box").forEach(function (el) { el.remove(); });
    return copy.textContent.replace(/\s+\n/g, "\n").trim();
  }
  function tsvField(text) {
    return /[\t\n\r"]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function rangeTsv() {
    var r = range();
    if (!r) return "";
    var lines = [];
    for (var i = r.r1; i <= r.r2; i++) {
      var tds = cellsOf(rowAt(i));
      if (!tds.length) continue;
      var line = [];
      for (var c = r.c1; c <= r.c2; c++) line.push(tsvField(tds[c] ? cellText(tds[c]) : ""));
      lines.push(line.join("\t"));
    }
    return lines.join("\n");
  }
  function parseTsv(text) {
    var rows = [], row = [], field = "", i = 0, quoted = false;
    text = text.replace(/\r\n?/g, "\n");
    if (text.slice(-1) === "\n") text = text.slice(0, -1);
    while (i < text.length) {
      var ch = text[i];
      if (quoted) {
        if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
        if (ch === '"') { quoted = false; i += 1; continue; }
        field += ch; i += 1; continue;
      }
      if (ch === '"' && field === "") { quoted = true; i += 1; continue; }
      if (ch === "\t") { row.push(field); field = ""; i += 1; continue; }
      if (ch === "\n") { row.push(field); rows.push(row); row = []; field = ""; i += 1; continue; }
      field += ch; i += 1;
    }
    row.push(field);
    rows.push(row);
    return rows;
  }
  function inGrid(el) { return el && table.contains(el) && !el.closest(".is-editing"); }

  document.addEventListener("copy", function (e) {
    if (!inGrid(document.activeElement) || !active) return;
    var text = rangeTsv();
    e.clipboardData.setData("text/plain", text);
    e.preventDefault();
    var r = range();
    say(tmsg("copied", "{count} cells copied").replace("{count}", String((r.r2 - r.r1 + 1) * (r.c2 - r.c1 + 1))));
  });

  /* ---- writes: one request for many cells, all or nothing ---------------------------- */
  function clearErrors() {
    table.querySelectorAll("td.cell.has-error").forEach(function (td) {
      td.classList.remove("has-error");
      td.querySelectorAll(".cell-error").forEach(function (el) { el.remove(); });
    });
  }
  function cellFor(record, field) {
    return table.querySelector('td.cell[data-record="' + G.cssEscape(record) + '"][data-field="' + G.cssEscape(field) + '"]');
  }
  function saveChanges(changes) {
    if (!changes.length) return Promise.resolve();
    clearErrors();
    say("…");
    return G.request(tableUrl + "/cells", {
      method: "POST", body: JSON.stringify({ changes: changes }),
      headers: { "Content-Type": "application/json", Accept: "application/json" }
    }).then(function (r) {
      return r.text().then(function (body) {
        var data = null;
        try { data = JSON.parse(body); } catch (e) { data = null; }
        if (r.ok && data && data.ok) {
          say(tmsg("saved", "Saved"));
          return refreshRows(data.records || changes.map(function (c) { return c.record; }));
        }
        if (data && data.errors) {
          data.errors.forEach(function (err) {
            var td = err.record && err.field ? cellFor(err.record, err.field) : null;
            if (td) {
              td.classList.add("has-error");
              G.cellError(td, err.message);
            }
          });
          var named = data.errors.map(function (err) {
            var td = err.record && err.field ? cellFor(err.record, err.field) : null;
            var label = td ? td.getAttribute("data-label") : err.field;
            var p = td && posOf(td);
            return (p ? "#" + (p.row + 1) + " " : "") + (label ? label + ": " : "") + err.message;
          });
          say(tmsg("bad-cells", "Nothing was saved: fix the cells marked in red") + " — " + named.join("; "));
          return;
        }
        say(G.errorText(body));
      });
    }).catch(function () { say(G.errorText("")); });
  }
  // The rows of these records again, as the server draws them now.
  function refreshRows(ids) {
    var unique = ids.filter(function (id, n) { return id && ids.indexOf(id) === n; });
    if (!unique.length) return Promise.resolve();
    return G.request(withQuery(baseUrl + "/rows", "ids=" + encodeURIComponent(unique.join(","))), { headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (body) {
        // A replaced cell takes the focus with it: give it back to the active cell.
        var had = table.contains(document.activeElement) || document.activeElement === document.body;
        G.fragments(body).forEach(function (tr) {
          if (!tr.matches("tr[data-id]")) return;
          G.swapCells(cellsOf(tr), null);
        });
        decorateAll();
        table.querySelectorAll("tr[data-index]").forEach(applyFrozen);
        paint();
        if (active) {
          var td = cellAt(active.row, active.col);
          var now = document.activeElement;
          if (td && had && (now === document.body || (table.contains(now) && !now.closest(".is-editing")))) td.focus({ preventScroll: true });
        }
        loadSummary();
      });
  }
  function rangeCells() {
    var r = range(), out = [];
    if (!r) return out;
    for (var i = r.r1; i <= r.r2; i++) {
      var tds = cellsOf(rowAt(i));
      for (var c = r.c1; c <= r.c2; c++) if (tds[c]) out.push(tds[c]);
    }
    return out;
  }
  function change(td, value) {
    return { record: td.getAttribute("data-record"), field: td.getAttribute("data-field"), value: value };
  }
  function rawValue(td) {
    return td.hasAttribute("data-value") ? td.getAttribute("data-value") : cellText(td);
  }
  function clearRange() {
    var tds = rangeCells().filter(editable);
    if (!tds.length) return say(tmsg("read-only", "This cell cannot be edited"));
    saveChanges(tds.map(function (td) { return change(td, ""); }));
  }
  function paste(text) {
    if (!active) return;
    var block = parseTsv(text);
    var r = range();
    // One value pasted on a range fills the range; a block starts at the range's corner.
    if (block.length === 1 && block[0].length === 1 && (r.r1 !== r.r2 || r.c1 !== r.c2)) {
      return saveChanges(rangeCells().map(function (td) { return change(td, block[0][0]); }));
    }
    var rows = Math.min(block.length, total - r.r1);
    var need = [];
    for (var k = 0; k < rows; k++) need.push(r.r1 + k);
    return need.reduce(function (p, i) { return p.then(function () { return ensureRow(i); }); }, Promise.resolve())
      .then(function () {
        var changes = [];
        block.slice(0, rows).forEach(function (line, dr) {
          var tds = cellsOf(rowAt(r.r1 + dr));
          line.forEach(function (value, dc) {
            var td = tds[r.c1 + dc];
            if (td) changes.push(change(td, value));
          });
        });
        anchor = { row: r.r1, col: r.c1 };
        active = { row: r.r1 + rows - 1, col: Math.min(fields.length - 1, r.c1 + Math.max.apply(null, block.map(function (l) { return l.length; })) - 1) };
        paint();
        return saveChanges(changes);
      });
  }
  document.addEventListener("paste", function (e) {
    if (!inGrid(document.activeElement) || !active) return;
    var text = e.clipboardData ? e.clipboardData.getData("text/plain") : "";
    if (!text) return;
    e.preventDefault();
    paste(text);
  });
  function fillDown() {
    var r = range();
    if (!r || r.r1 === r.r2) return;
    var source = cellsOf(rowAt(r.r1)), changes = [];
    for (var i = r.r1 + 1; i <= r.r2; i++) {
      var tds = cellsOf(rowAt(i));
      for (var c = r.c1; c <= r.c2; c++) if (tds[c] && source[c]) changes.push(change(tds[c], rawValue(source[c])));
    }
    saveChanges(changes);
  }
  function history(which) {
    say("…");
    G.request(tableUrl + "/" + which, { method: "POST", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().catch(function () { return { ok: false }; }); })
      .then(function (data) {
        say(data.message || (data.ok ? tmsg("saved", "Saved") : tmsg("nothing", "Nothing to undo")));
        if (data.ok) return refreshRows(data.records || []);
      })
      .catch(function () { say(G.errorText("")); });
  }

  /* ---- the keyboard ------------------------------------------------------------------ */
  function pageRows() { return Math.max(1, Math.floor(wrap.clientHeight / rowH) - 2); }
  table.addEventListener("keydown", function (e) {
    var td = e.target.closest && e.target.closest("td.cell");
    if (!td || td.classList.contains("is-editing") || e.target !== td || e.defaultPrevented) return;
    var pos = posOf(td);
    if (!pos) return;
    if (!active || active.row !== pos.row || active.col !== pos.col) active = pos;
    onKey(e, td, pos);
  });
  // The active cell's row was scrolled out of the window (and out of the page): the keys
  // still move from it, fetching its rows again.
  var NAV_KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", "Tab"];
  document.addEventListener("keydown", function (e) {
    if (!active || e.defaultPrevented || document.activeElement !== document.body || NAV_KEYS.indexOf(e.key) < 0) return;
    if (rowAt(active.row)) return;
    onKey(e, null, { row: active.row, col: active.col });
  });
  function onKey(e, td, pos) {
    var ctrl = e.ctrlKey || e.metaKey, shift = e.shiftKey, key = e.key;
    var moves = {
      ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]
    };
    if (moves[key]) {
      e.preventDefault();
      var dr = moves[key][0], dc = moves[key][1];
      if (ctrl) return moveTo(dr ? (dr > 0 ? total - 1 : 0) : pos.row, dc ? (dc > 0 ? fields.length - 1 : 0) : pos.col, shift);
      return moveTo(pos.row + dr, pos.col + dc, shift);
    }
    if (key === "Tab") {
      var next = pos.col + (shift ? -1 : 1);
      if (next < 0 || next >= fields.length) return; // leaves the grid
      e.preventDefault();
      return moveTo(pos.row, next, false);
    }
    if (key === "Home") { e.preventDefault(); return moveTo(ctrl ? 0 : pos.row, 0, shift); }
    if (key === "End") { e.preventDefault(); return moveTo(ctrl ? total - 1 : pos.row, fields.length - 1, shift); }
    if (key === "PageDown") { e.preventDefault(); return moveTo(pos.row + pageRows(), pos.col, shift); }
    if (key === "PageUp") { e.preventDefault(); return moveTo(pos.row - pageRows(), pos.col, shift); }
    if (!td) return;
    if (key === "Escape") {
      e.preventDefault();
      anchor = null;
      pickedRows = {};
      return paint();
    }
    if (key === "Delete" || key === "Backspace") { e.preventDefault(); return clearRange(); }
    if (ctrl && (key === "z" || key === "Z")) { e.preventDefault(); return history(shift ? "redo" : "undo"); }
    if (ctrl && (key === "y" || key === "Y")) { e.preventDefault(); return history("redo"); }
    if (ctrl && (key === "d" || key === "D")) { e.preventDefault(); return fillDown(); }
    if (ctrl && (key === "a" || key === "A")) {
      e.preventDefault();
      anchor = { row: lo, col: 0 };
      active = { row: hi - 1, col: fields.length - 1 };
      return paint();
    }
    if (key === "Enter") {
      e.preventDefault();
      if (editable(td)) G.startEdit(td);
      else say(tmsg("read-only", "This cell cannot be edited"));
      return;
    }
    if (key === " " && shift && !ctrl && !e.altKey) {
      // Shift+Space: the row's record, as a click on its number would open it
      e.preventDefault();
      var row = td.closest("tr[data-url]");
      if (row) window.location.href = row.getAttribute("data-url");
      return;
    }
    if (key.length === 1 && !ctrl && !e.altKey) {
      if (!editable(td)) return say(tmsg("read-only", "This cell cannot be edited"));
      e.preventDefault();
      G.startEdit(td, { initialText: key });
    }
  }

  /* ---- the mouse: click, shift-click, drag a range, the fill handle, row checkboxes -- */
  var dragging = null; // "range" | "fill"
  table.addEventListener("mousedown", function (e) {
    if (e.button !== 0) return;
    if (e.target.classList && e.target.classList.contains("fill-handle")) {
      e.preventDefault();
      dragging = "fill";
      if (!anchor) anchor = { row: active.row, col: active.col };
      var r = range();
      anchor = { row: r.r1, col: r.c1 };
      active = { row: r.r2, col: r.c2 };
      return;
    }
    var td = e.target.closest && e.target.closest("td.cell");
    if (!td || td.classList.contains("is-editing") || e.target.closest("a, button, input, select, textarea, .link-picker")) return;
    var pos = posOf(td);
    if (!pos) return;
    if (e.shiftKey && active) {
      e.preventDefault();
      if (!anchor) anchor = active;
      active = pos;
      focusCell(true);
      return;
    }
    active = pos;
    anchor = null;
    dragging = "range";
    paint();
  });
  table.addEventListener("mouseover", function (e) {
    if (!dragging || !active) return;
    var td = e.target.closest && e.target.closest("td.cell");
    var pos = td && posOf(td);
    if (!pos) return;
    if (dragging === "fill") {
      active = { row: Math.max(pos.row, anchor.row), col: active.col };
    } else {
      if (!anchor) anchor = active;
      active = pos;
    }
    paint();
  });
  document.addEventListener("mouseup", function () {
    var was = dragging;
    dragging = null;
    if (was === "fill") fillDown();
    if (was === "range" && active) {
      var td = cellAt(active.row, active.col);
      if (td && !td.classList.contains("is-editing")) td.focus({ preventScroll: true });
    }
  });
  table.addEventListener("focusin", function (e) {
    var td = e.target.matches && e.target.matches("td.cell") ? e.target : null;
    var pos = td && posOf(td);
    if (!pos || (active && active.row === pos.row && active.col === pos.col)) return;
    active = pos;
    if (!dragging) anchor = null;
    paint();
  });

  /* ---- a redraw keeps the focus and the active cell -----------------------------------
   * Rows and cells are drawn again under the person's hands: their own edit or paste coming
   * back over the live stream (live.js swaps the record's cells), rows loaded again
   * (reloadWindow). A focused element taken out of the page sends the focus to <body>: while
   * the grid holds the focus, a redraw gives it back to the active cell and paints the
   * selection again, so the next key still works on the cell the person is on. */
  var holdsFocus = false;
  table.addEventListener("focusin", function () { holdsFocus = true; });
  table.addEventListener("focusout", function (e) {
    var from = e.target;
    // Moved on by the person (the element is still there, the focus is elsewhere), not redrawn.
    window.setTimeout(function () {
      if (from.isConnected && !table.contains(document.activeElement)) holdsFocus = false;
    }, 0);
  });
  function keepFocus() {
    if (!holdsFocus || !active) return;
    var now = document.activeElement;
    if (now && now !== document.body && now.isConnected) return;
    var td = cellAt(active.row, active.col);
    if (td && !td.classList.contains("is-editing")) td.focus({ preventScroll: true });
  }
  new MutationObserver(function (changes) {
    var drawn = changes.some(function (c) {
      return Array.prototype.some.call(c.addedNodes, function (n) { return n.nodeType === 1 && n.matches("td.cell, tr[data-index]"); });
    });
    if (!drawn) return;
    decorateAll();
    paint();
    keepFocus();
  }).observe(tbody, { childList: true, subtree: true });

  var lastPicked = null;
  table.addEventListener("click", function (e) {
    var box = e.target.closest && e.target.closest(".row-select, .select-all");
    if (box) {
      if (box.classList.contains("select-all")) {
        dataRows().forEach(function (tr) {
          if (box.checked) pickedRows[tr.getAttribute("data-id")] = true;
          else delete pickedRows[tr.getAttribute("data-id")];
        });
        return paint();
      }
      var tr = box.closest("tr[data-index]");
      var index = parseInt(tr.getAttribute("data-index"), 10);
      if (e.shiftKey && lastPicked !== null) {
        for (var i = Math.min(index, lastPicked); i <= Math.max(index, lastPicked); i++) {
          var other = rowAt(i);
          if (other) pickedRows[other.getAttribute("data-id")] = true;
        }
      } else if (box.checked) pickedRows[tr.getAttribute("data-id")] = true;
      else delete pickedRows[tr.getAttribute("data-id")];
      lastPicked = index;
      return paint();
    }
    var num = e.target.closest && e.target.closest("td.row-num");
    if (num && !e.target.closest("a, button, form")) {
      var row = num.closest("tr[data-index]");
      if (!row) return;
      var id = row.getAttribute("data-id");
      if (pickedRows[id]) delete pickedRows[id]; else pickedRows[id] = true;
      lastPicked = parseInt(row.getAttribute("data-index"), 10);
      return paint();
    }
  });

  // On a phone the rows are cards: a tap opens the record (its page edits by touch).
  table.addEventListener("click", function (e) {
    if (!phone.matches) return;
    var tr = e.target.closest && e.target.closest("tr[data-url]");
    if (!tr || e.target.closest("a, button, input, select, textarea, label, .is-editing")) return;
    e.preventDefault();
    e.stopPropagation();
    window.location.assign(tr.getAttribute("data-url"));
  }, true);

  /* ---- selected rows: bulk edit and delete ------------------------------------------- */
  var bar = document.querySelector(".selection-bar");
  function pickedIds() { return Object.keys(pickedRows); }
  function updateSelectionBar() {
    if (!bar) return;
    var ids = pickedIds();
    bar.hidden = !ids.length;
    var count = bar.querySelector(".selection-count");
    if (count) count.textContent = (count.getAttribute("data-msg-rows") || "{count} rows selected").replace("{count}", String(ids.length));
  }
  if (bar) {
    bar.addEventListener("click", function (e) {
      if (e.target.closest(".selection-clear")) { pickedRows = {}; return paint(); }
      if (e.target.closest(".bulk-apply")) {
        var field = bar.querySelector(".bulk-field").value, value = bar.querySelector(".bulk-value").value;
        return saveChanges(pickedIds().map(function (id) { return { record: id, field: field, value: value }; }));
      }
      var del = e.target.closest(".bulk-delete");
      if (del && window.confirm(del.getAttribute("data-msg-confirm") || "Delete?")) {
        G.request(baseUrl + "/delete", {
          method: "POST", body: JSON.stringify({ records: pickedIds() }),
          headers: { "Content-Type": "application/json", Accept: "application/json" }
        }).then(function (r) { return r.json(); })
          .then(function (data) {
            if (data.ok) return window.location.reload();
            say((data.errors || []).map(function (x) { return x.message; }).join("; "));
          })
          .catch(function () { say(G.errorText("")); });
      }
    });
  }

  /* ---- columns: widths, frozen columns, the columns menu ------------------------------ */
  var DEFAULT_WIDTH = 160;
  function headers() { return Array.prototype.slice.call(table.querySelectorAll("thead th")); }
  function widthOf(th) {
    var f = th.getAttribute("data-field");
    if (!f) return 40 + 8 * String(total).length; // the row number and its checkbox
    return (layout.widths && layout.widths[f]) || DEFAULT_WIDTH;
  }
  function applyWidths() {
    if (phone.matches) {
      table.style.width = "";
      headers().forEach(function (th) { th.style.width = ""; });
      return;
    }
    var sum = 0;
    headers().forEach(function (th) {
      var w = widthOf(th);
      th.style.width = w + "px";
      sum += w;
    });
    table.style.width = sum + "px";
    applyFrozen();
  }
  function frozenCount() { return Math.min(fields.length, (layout.frozen || 0)); }
  function applyFrozen(tr) {
    var n = phone.matches ? 0 : frozenCount();
    var lefts = [], x = 0;
    headers().forEach(function (th, i) { lefts.push(x); x += th.offsetWidth || widthOf(th); });
    var rows = tr && tr.nodeType === 1 ? [tr] : Array.prototype.slice.call(table.querySelectorAll("tr"));
    rows.forEach(function (row) {
      if (row.classList.contains("spacer") || row.classList.contains("group-row")) return;
      Array.prototype.forEach.call(row.children, function (cell, i) {
        var on = i > 0 && i <= n;
        cell.classList.toggle("is-frozen", on);
        cell.classList.toggle("frozen-last", on && i === n);
        cell.style.left = on ? lefts[i] + "px" : "";
      });
    });
  }
  function saveLayout(next) {
    return G.request(table.getAttribute("data-columns-url"), {
      method: "POST", body: JSON.stringify(next),
      headers: { "Content-Type": "application/json", Accept: "application/json" }
    }).then(function (r) { return r.json(); })
      .then(function (data) { if (data && data.ok) layout = data.columns || {}; return data; });
  }
  // Drag a header's right edge to resize its column; the width is kept for this person.
  table.addEventListener("mousedown", function (e) {
    var grip = e.target.closest && e.target.closest(".col-resize");
    if (!grip || !table.hasAttribute("data-columns-url")) return;
    e.preventDefault();
    e.stopPropagation();
    var th = grip.closest("th"), field = th.getAttribute("data-field"), startX = e.clientX, startW = th.offsetWidth;
    function move(ev) {
      var w = Math.max(48, Math.min(800, startW + ev.clientX - startX));
      layout.widths = Object.assign({}, layout.widths || {});
      layout.widths[field] = Math.round(w);
      applyWidths();
    }
    function up() {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", up);
      saveLayout(layout);
    }
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  }, true);

  // Drag a header onto another to move its column there (kept for this person, as the menu does).
  var dragged = null;
  if (table.hasAttribute("data-columns-url")) {
    table.querySelectorAll("thead th[data-field]").forEach(function (th) {
      th.draggable = true;
      th.addEventListener("dragstart", function (e) {
        dragged = th.getAttribute("data-field");
        e.dataTransfer.effectAllowed = "move";
        e.dataTransfer.setData("text/plain", dragged);
      });
      th.addEventListener("dragover", function (e) {
        if (!dragged || dragged === th.getAttribute("data-field")) return;
        e.preventDefault();
        th.classList.add("drop-target");
      });
      th.addEventListener("dragleave", function () { th.classList.remove("drop-target"); });
      th.addEventListener("drop", function (e) {
        e.preventDefault();
        th.classList.remove("drop-target");
        var target = th.getAttribute("data-field");
        if (!dragged || dragged === target) return;
        var order = fields.filter(function (f) { return f !== dragged; });
        var at = order.indexOf(target) + (fields.indexOf(dragged) < fields.indexOf(target) ? 1 : 0);
        order.splice(at, 0, dragged);
        // fields the person hid keep their places after the shown ones
        var before = (layout.order || []).filter(function (f) { return order.indexOf(f) < 0; });
        dragged = null;
        saveLayout(Object.assign({}, layout, { order: order.concat(before) })).then(function () { window.location.reload(); });
      });
    });
  }

  var menu = document.querySelector(".columns-menu");
  if (menu) {
    menu.addEventListener("click", function (e) {
      var li = e.target.closest("li[data-field]");
      if (li && e.target.closest(".column-up") && li.previousElementSibling) li.parentNode.insertBefore(li, li.previousElementSibling);
      else if (li && e.target.closest(".column-down") && li.nextElementSibling) li.parentNode.insertBefore(li.nextElementSibling, li);
      else if (e.target.closest(".columns-apply")) {
        var items = Array.prototype.slice.call(menu.querySelectorAll("li[data-field]"));
        var next = {
          order: items.map(function (x) { return x.getAttribute("data-field"); }),
          hidden: items.filter(function (x) { return !x.querySelector(".column-shown").checked; })
            .map(function (x) { return x.getAttribute("data-field"); }),
          widths: layout.widths || {},
          frozen: parseInt(menu.querySelector(".column-frozen").value, 10) || 0,
          row_height: menu.querySelector(".row-height").value
        };
        saveLayout(next).then(function () { window.location.reload(); });
      } else if (e.target.closest(".columns-reset")) {
        saveLayout({ reset: true }).then(function () { window.location.reload(); });
      }
    });
  }

  /* ---- the summary bar ---------------------------------------------------------------- */
  // Over a big view the figures cost a scan of every row: they are computed when asked for.
  var SUMMARY_AT_ONCE = 50000, summaryAsked = false;
  function offerSummary(foot) {
    if (foot.querySelector(".summary-ask")) return;
    var tr = document.createElement("tr"), td = document.createElement("td"), button = document.createElement("button");
    td.colSpan = fields.length + 1;
    td.className = "summary";
    button.type = "button";
    button.className = "btn btn-sm summary-ask";
    button.textContent = tmsg("summarize", "Show the summary");
    button.addEventListener("click", function () { summaryAsked = true; loadSummary(); });
    td.appendChild(button);
    tr.appendChild(td);
    foot.replaceChildren(tr);
  }
  function loadSummary() {
    var url = table.getAttribute("data-summary-url");
    var foot = table.tFoot;
    if (!url || !foot || !total) return;
    if (total > SUMMARY_AT_ONCE && !summaryAsked) return offerSummary(foot);
    G.request(url, { headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (body) {
        var rows = G.fragments(body).filter(function (el) { return el.matches("tr"); });
        if (!rows.length) return;
        foot.replaceChildren.apply(foot, rows);
        applyFrozen(rows[0]);
      })
      .catch(function () { /* the bar is a help, not the data */ });
  }

  /* ---- the toolbar on a phone folds into a menu; filter operators follow the field ---- */
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest && e.target.closest(".toolbar-toggle");
    if (!toggle) return;
    var bar2 = toggle.closest(".toolbar");
    var open = !bar2.classList.contains("toolbar-open");
    bar2.classList.toggle("toolbar-open", open);
    toggle.setAttribute("aria-expanded", String(open));
  });
  function syncOps(fieldSelect) {
    var row = fieldSelect.closest(".filter-row");
    var opSelect = row && row.querySelector(".filter-op");
    if (!opSelect) return;
    var chosen = fieldSelect.options[fieldSelect.selectedIndex];
    var ops = chosen && chosen.getAttribute("data-ops") ? chosen.getAttribute("data-ops").split(" ") : null;
    var firstShown = null;
    Array.prototype.forEach.call(opSelect.options, function (o) {
      var ok = !ops || ops.indexOf(o.value) >= 0;
      o.hidden = !ok;
      o.disabled = !ok;
      if (ok && firstShown === null) firstShown = o.value;
    });
    if (opSelect.selectedOptions[0] && opSelect.selectedOptions[0].disabled && firstShown !== null) opSelect.value = firstShown;
  }
  document.querySelectorAll(".filter-field").forEach(function (s) {
    syncOps(s);
    s.addEventListener("change", function () { syncOps(s); });
  });

  /* ---- start ---------------------------------------------------------------------------- */
  decorateAll();
  new MutationObserver(function (list) {
    list.forEach(function (m) {
      Array.prototype.forEach.call(m.addedNodes, function (node) {
        if (node.nodeType !== 1) return;
        if (node.matches("td.cell")) { decorate(node); applyFrozen(node.closest("tr")); }
      });
    });
    if (active) paint();
  }).observe(tbody, { childList: true, subtree: true });
  applyWidths();
  initWindow();
  if (phone.addEventListener) phone.addEventListener("change", function () { applyWidths(); applyFrozen(); });
  wrap.addEventListener("scroll", onScroll, { passive: true });
  var first = dataRows()[0];
  if (first) {
    active = { row: parseInt(first.getAttribute("data-index"), 10), col: 0 };
    paint();
  }
  function setTotal(n) {
    total = n;
    totalKnown = true;
    table.setAttribute("data-total", String(n));
    table.setAttribute("aria-rowcount", String(n + 1));
    var count = document.querySelector(".record-count[data-msg-records]");
    if (count) count.textContent = count.getAttribute("data-msg-records").replace("{count}", String(n));
    applyWidths(); // the row numbers' column fits the largest number
    setSpacers();
    loadSummary();
    onScroll();
  }
  if (totalKnown) {
    loadSummary();
    onScroll();
  } else {
    total = hi;
    G.request(table.getAttribute("data-count-url"), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && typeof data.total === "number") setTotal(data.total); })
      .catch(function () { /* the rows already shown stay usable */ });
  }
  // Records someone else created (live.js): count again and draw the loaded rows anew, so the
  // new ones appear where the view's filter and sort put them. Not while a cell is being
  // edited (the edit would be lost) or rows are loading: then false, and live.js says so.
  function reloadWindow() {
    if (loading || tbody.querySelector(".is-editing")) return false;
    var keep = wrap.scrollTop;
    G.request(table.getAttribute("data-count-url"), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && typeof data.total === "number") setTotal(data.total);
        return load(lo, "jump");
      })
      .then(function () { wrap.scrollTop = keep; })
      .catch(function () { /* the rows already shown stay usable; a reload shows the new ones */ });
    return true;
  }
  window.GridbaseGrid = { moveTo: moveTo, paste: paste, refreshRows: refreshRows, range: range, reloadWindow: reloadWindow };
})();
