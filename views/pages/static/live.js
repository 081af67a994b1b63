/* Live updates: what others change shows on this page within a second, without a reload.
 * Plain ES2017, no build step, no inline scripts (strict CSP); loaded after app.js and built on
 * window.Gridbase (request, fragments, swapCells, cssEscape, msg).
 *
 * Contract:
 * - <body data-live-url="/live" data-msg-live-*="..."> (only for a signed-in person): the page
 *   opens one EventSource on data-live-url, with ?base=&table=[&record=|&view=] when its path
 *   is a table (/b/B/t/T, a view /b/B/t/T/v/V) or a record (/b/B/t/T/r/R) page (new records
 *   are then counted only if they are in that view); every page gets its inbox count.
 * - Messages (see views/pages/live.py and engine/live.py) carry record ids and field keys,
 *   never values:
 *   changes  {table, records: [{id, kind, fields, by}], created: [ids], deleted: [ids]}
 *            → the cells of each record shown here are fetched again as this person
 *              (GET …/r/ID/cells) and put in place with Gridbase.swapCells (a cell being
 *              edited is left alone); new records appear in the grid where its view puts them (grid.js
 *              reloadWindow), elsewhere or while a cell is edited they show "New records: N" with a Refresh
 *              button; deleted rows are struck through; a record page shows "deleted" or
 *              "new comment".
 *   reload / resync → the same Refresh bar ("This table changed"); resync also refetches the
 *              cells of the records on the page (as does every reconnect: `hello` again).
 *   inbox    {unread} → document event "gridbase:unread" (app.js section (h) sets the badge).
 *   presence {record, field, who, on} → a name tag on that cell while someone else edits it.
 *   notice   {record, field, field_name, by} → "张三 changed 状态 after your edit".
 * - While a cell here is being edited (td.cell.is-editing with data-edit-url), this page tells
 *   POST /live/editing {base, table, record, field, on=1}, again every HEARTBEAT ms, and on=0
 *   when the edit ends (or the page is left).
 */
(function () {
  "use strict";
  var G = window.Gridbase;
  var body = document.body;
  var liveUrl = body && body.getAttribute("data-live-url");
  if (!G || !liveUrl || !window.EventSource) return;

  var me = document.querySelector(".app-header .user-name");
  var myName = me ? me.textContent.trim() : "";
  var HEARTBEAT = 10000;      // an edit under way is confirmed this often (the server forgets after 30 s)
  var PRESENCE_MS = 35000;    // a tag not confirmed meanwhile goes by itself
  var NOTICE_MS = 10000;
  var FETCH_DELAY = 80;       // changes of one moment are fetched together
  var RESYNC_MAX = 50;        // records refetched after a resync; past this the Refresh bar is enough

  // /b/BASE/t/TABLE, /b/BASE/t/TABLE/r/RECORD, /b/BASE/t/TABLE/v/VIEW (or kanban/…/VIEW)
  var path = window.location.pathname.match(/^\/b\/([^\/]+)\/t\/([^\/]+)(?:\/([^\/]+)\/([^\/]+))?/);
  var base = path ? decodeURIComponent(path[1]) : null;
  var table = path ? decodeURIComponent(path[2]) : null;
  var record = path && path[3] === "r" ? decodeURIComponent(path[4]) : null;
  var view = path && path[3] && path[3] !== "r" && path[3] !== "view" ? decodeURIComponent(path[4]) : null;

  function text(name, fallback, values) {
    var out = G.msg(name, fallback);
    Object.keys(values || {}).forEach(function (k) { out = out.split("{" + k + "}").join(values[k]); });
    return out;
  }

  function cellsOf(rid) {
    return document.querySelectorAll('td.cell[data-record="' + G.cssEscape(rid) + '"]');
  }

  function recordUrl(rid) {
    return G.url("/b/") + encodeURIComponent(base) + "/t/" + encodeURIComponent(table) + "/r/" + encodeURIComponent(rid);
  }

  /* ---- a bar at the bottom: one line of news, an optional Refresh button --------------- */
  var bar = null, barText = null, toastBox = null;
  function showBar(message) {
    if (!bar) {
      bar = document.createElement("div");
      bar.className = "live-bar";
      bar.setAttribute("role", "status");
      Object.assign(bar.style, {
        position: "fixed", left: "50%", bottom: "16px", transform: "translateX(-50%)", zIndex: "50",
        background: "#1f2937", color: "#fff", padding: "8px 12px", borderRadius: "6px",
        boxShadow: "0 2px 8px rgba(0,0,0,.25)", display: "flex", gap: "12px", alignItems: "center",
        maxWidth: "calc(100vw - 32px)", fontSize: "14px"
      });
      barText = document.createElement("span");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-sm live-refresh";
      button.textContent = text("live-refresh", "Refresh");
      button.addEventListener("click", function () { window.location.reload(); });
      bar.appendChild(barText);
      bar.appendChild(button);
      body.appendChild(bar);
    }
    barText.textContent = message;
  }

  function toast(message) {
    if (!toastBox) {
      toastBox = document.createElement("div");
      toastBox.className = "live-notices";
      toastBox.setAttribute("aria-live", "polite");
      Object.assign(toastBox.style, {
        position: "fixed", right: "16px", top: "64px", zIndex: "60", display: "flex",
        flexDirection: "column", gap: "8px", maxWidth: "min(360px, calc(100vw - 32px))"
      });
      body.appendChild(toastBox);
    }
    var note = document.createElement("div");
    note.className = "live-notice";
    note.setAttribute("role", "alert");
    note.textContent = message;
    Object.assign(note.style, {
      background: "#fef3c7", color: "#78350f", border: "1px solid #f59e0b", borderRadius: "6px",
      padding: "8px 12px", boxShadow: "0 2px 8px rgba(0,0,0,.15)", fontSize: "14px", cursor: "pointer"
    });
    note.addEventListener("click", function () { note.remove(); });
    toastBox.appendChild(note);
    window.setTimeout(function () { note.remove(); }, NOTICE_MS);
  }

  /* ---- changes ----------------------------------------------------------------------- */
  var wanted = {}, fetchTimer = null, newCount = 0;
  function refetch(rid, fields) {
    wanted[rid] = (wanted[rid] || []).concat(fields || []);
    if (fetchTimer) return;
    fetchTimer = window.setTimeout(function () {
      var asked = wanted;
      var ids = Object.keys(asked);
      wanted = {};
      fetchTimer = null;
      ids.forEach(function (id) {
        G.request(recordUrl(id) + "/cells", { headers: { Accept: "text/html" } })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) {
            if (!html.trim()) return;
            G.swapCells(G.fragments(html), null);
            cellsOf(id).forEach(function (cell) {
              if (asked[id].indexOf(cell.getAttribute("data-field")) >= 0) flash(cell);
            });
            applyTags();
          })
          .catch(function () { /* the next change or a reload shows it */ });
      });
    }, FETCH_DELAY);
  }

  function flash(cell) {
    cell.style.transition = "background-color 1.2s";
    cell.style.backgroundColor = "#fef9c3";
    window.setTimeout(function () { cell.style.backgroundColor = ""; }, 600);
  }

  // A board, calendar or gallery draws its cards on the server: on a change, the page is asked
  // again (as its viewer, so nothing they may not read arrives) and its [data-live-region] put
  // in place; changes of one moment are fetched together, and a card being moved is left alone.
  var regionTimer = null;
  function refreshRegion(region) {
    window.clearTimeout(regionTimer);
    regionTimer = window.setTimeout(function () {
      if (region.querySelector(".is-saving, .sortable-chosen, .sortable-drag")) return;
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          var fresh = html && new DOMParser().parseFromString(html, "text/html").querySelector("[data-live-region]");
          if (!fresh || region.querySelector(".is-saving, .sortable-chosen, .sortable-drag")) return;
          var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("[data-record]");
          var focusId = focused && region.contains(focused) ? focused.getAttribute("data-record") : null;
          region.replaceChildren.apply(region, Array.prototype.map.call(fresh.childNodes, function (n) {
            return document.importNode(n, true);
          }));
          G.init(region);
          var again = focusId && region.querySelector('[data-record="' + G.cssEscape(focusId) + '"]');
          if (again) again.focus();
        })
        .catch(function () { /* the next change or a reload shows it */ });
    }, FETCH_DELAY * 3);
  }

  function onChanges(data) {
    var region = !record && document.querySelector("[data-live-region]");
    if (region) return refreshRegion(region);
    var restored = [], unseen = false;
    (data.records || []).forEach(function (r) {
      if (record && r.kind === "commented") { showBar(text("live-comment", "New comment")); return; }
      if (cellsOf(r.id).length) refetch(r.id, r.by && r.by === myName ? [] : r.fields); // one's own change: no flash
      else if (r.kind === "restored") restored.push(r.id);
      else unseen = true;
    });
    // A board, calendar or gallery draws no cells: say that something changed.
    if (!record && unseen && !document.querySelector("td.cell[data-record]")) showBar(text("live-changed", "This table changed"));
    (data.deleted || []).forEach(function (id) {
      if (record === id) { showBar(text("live-deleted", "This record was deleted")); return; }
      cellsOf(id).forEach(function (cell) {
        var row = cell.closest("tr");
        if (row && !row.classList.contains("live-deleted")) {
          row.classList.add("live-deleted");
          row.style.opacity = "0.45";
          row.style.textDecoration = "line-through";
        }
      });
    });
    var fresh = (data.created || []).concat(restored).filter(function (id) { return !cellsOf(id).length; });
    if (!record && fresh.length) {
      var grid = window.GridbaseGrid; // the grid draws them where they belong; else say so
      if (grid && grid.reloadWindow && grid.reloadWindow()) return;
      newCount += fresh.length;
      showBar(text("live-new", "New records: {count}", { count: newCount }));
    }
  }

  function onResync() {
    showBar(text("live-changed", "This table changed"));
    refetchAll();
  }

  // Whatever was missed while the stream was away (a reconnect): the cells on the page again.
  function refetchAll() {
    var ids = {};
    document.querySelectorAll("td.cell[data-record]").forEach(function (cell) { ids[cell.getAttribute("data-record")] = true; });
    Object.keys(ids).slice(0, RESYNC_MAX).forEach(function (id) { refetch(id, []); });
  }

  /* ---- presence: who else edits which cell -------------------------------------------- */
  var tags = {}; // "record\u0000field" -> {who, until}
  function tagKey(rid, key) { return rid + "\u0000" + key; }

  function applyTags() {
    var now = Date.now();
    document.querySelectorAll("td.cell .live-tag").forEach(function (tag) {
      var cell = tag.closest("td.cell");
      var t = cell && tags[tagKey(cell.getAttribute("data-record"), cell.getAttribute("data-field"))];
      if (!t || t.until < now || t.who !== tag.getAttribute("data-who")) {
        if (cell) cell.style.boxShadow = "";
        tag.remove();
      }
    });
    Object.keys(tags).forEach(function (k) {
      var t = tags[k];
      if (t.until < now) { delete tags[k]; return; }
      var parts = k.split("\u0000");
      var selector = 'td.cell[data-record="' + G.cssEscape(parts[0]) + '"][data-field="' + G.cssEscape(parts[1]) + '"]';
      document.querySelectorAll(selector).forEach(function (cell) {
        if (cell.querySelector('.live-tag[data-who="' + G.cssEscape(t.who) + '"]')) return;
        var tag = document.createElement("span");
        tag.className = "live-tag";
        tag.setAttribute("data-who", t.who);
        tag.textContent = t.who;
        tag.title = text("live-editing", "{who} is editing", { who: t.who });
        Object.assign(tag.style, {
          display: "inline-block", marginLeft: "4px", padding: "0 4px", borderRadius: "3px",
          background: "#f59e0b", color: "#fff", fontSize: "11px", lineHeight: "16px", verticalAlign: "top"
        });
        cell.style.boxShadow = "inset 0 0 0 2px #f59e0b";
        cell.appendChild(tag);
      });
    });
  }

  function onPresence(data) {
    var k = tagKey(data.record, data.field);
    if (data.on) tags[k] = { who: data.who, until: Date.now() + PRESENCE_MS };
    else delete tags[k];
    applyTags();
  }
  window.setInterval(applyTags, 5000);

  /* ---- telling the server which cell this page edits ---------------------------------- */
  var editing = {}; // "record\u0000field" -> {base, table, record, field}
  function cellSpot(cell) {
    var m = (cell.getAttribute("data-edit-url") || "").match(/^\/b\/([^\/]+)\/t\/([^\/]+)\/r\/([^\/]+)\/cell\/([^\/]+)$/);
    if (!m) return null;
    return { base: decodeURIComponent(m[1]), table: decodeURIComponent(m[2]),
             record: decodeURIComponent(m[3]), field: decodeURIComponent(m[4]) };
  }

  function tell(spot, on) {
    var form = new URLSearchParams({ base: spot.base, table: spot.table, record: spot.record,
                                     field: spot.field, on: on ? "1" : "0" });
    return G.request(G.url("/live/editing"), { method: "POST", body: form }).catch(function () { /* best effort */ });
  }

  function checkEditing() {
    var now = {};
    document.querySelectorAll("td.cell.is-editing[data-edit-url]").forEach(function (cell) {
      var spot = cellSpot(cell);
      if (spot) now[tagKey(spot.record, spot.field)] = spot;
    });
    Object.keys(now).forEach(function (k) { if (!editing[k]) tell(now[k], true); });
    Object.keys(editing).forEach(function (k) { if (!now[k]) tell(editing[k], false); });
    editing = now;
  }

  var checkTimer = null;
  new MutationObserver(function () {
    if (checkTimer) return;
    checkTimer = window.setTimeout(function () { checkTimer = null; checkEditing(); }, 50);
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
  window.setInterval(function () {
    Object.keys(editing).forEach(function (k) { tell(editing[k], true); });
  }, HEARTBEAT);
  window.addEventListener("pagehide", function () {
    Object.keys(editing).forEach(function (k) {
      var spot = editing[k];
      var form = new URLSearchParams({ base: spot.base, table: spot.table, record: spot.record,
                                       field: spot.field, on: "0", csrf_token: G.csrfToken() });
      if (navigator.sendBeacon) navigator.sendBeacon(G.url("/live/editing"), form);
    });
    editing = {};
  });

  /* ---- the stream ----------------------------------------------------------------------- */
  var url = liveUrl;
  if (base && table) {
    url += "?base=" + encodeURIComponent(base) + "&table=" + encodeURIComponent(table) +
      (record ? "&record=" + encodeURIComponent(record) : "") + (view ? "&view=" + encodeURIComponent(view) : "");
  }
  var source = null;
  function parse(e) {
    try { return JSON.parse(e.data); } catch (err) { return null; }
  }
  function on(name, handler) {
    source.addEventListener(name, function (e) {
      var data = parse(e);
      if (data) handler(data);
    });
  }
  var hellos = 0;
  function connect() {
    source = new EventSource(url);
    source.addEventListener("hello", function () { if (++hellos > 1) refetchAll(); });
    on("changes", onChanges);
    on("reload", function () { showBar(text("live-changed", "This table changed")); });
    on("resync", onResync);
    on("inbox", function (data) {
      document.dispatchEvent(new CustomEvent("gridbase:unread", { detail: { unread: data.unread } }));
    });
    on("presence", onPresence);
    on("notice", function (data) {
      toast(text("live-overwritten", "{who} changed {field} after your edit", { who: data.by, field: data.field_name }));
    });
    source.addEventListener("error", function () {
      // A refused stream (signed out, no such table: 401/404) closes for good; say nothing.
      if (source.readyState === EventSource.CLOSED) source = null;
    });
  }
  connect();
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();
