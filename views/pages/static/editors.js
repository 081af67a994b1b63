/* Gridbase editors: one editor per widget, the same in grid cells, on the record page and in
 * forms. Plain ES2017, no build step, no inline scripts (strict CSP). Loaded after app.js, whose
 * helpers it uses through window.Gridbase.
 *
 * The registry: Gridbase.editors[widget] = function (ctx) { return {el, focus} }. The widget is
 * the field type's Editor.widget (engine/fields/base.py), drawn by the server as data-widget;
 * an unknown widget is edited as text. A plugin ships a script (Editor.script, served at
 * /editors/WIDGET.js) that registers its own factory; this file loads it when a page shows it.
 * ctx: {mode: "cell"|"form", value: text or list of texts, config: the server's data-editor
 * (choices with colours, search_url, chosen, multiple, tz), attrs (input attributes), label,
 * initialText (an edit begun by typing), set(value) (a cell saves it; a form keeps it in its
 * inputs), done() (a cell closes; the value is left as it was), cancel()}.
 *
 * Contract with the grid (grid.js) and others: Gridbase.startEdit(cell, {initialText}) starts
 * the edit of <td class="cell" data-edit-url data-widget data-value data-editor ...>; a save
 * POSTs value=... to data-edit-url and puts the answer in place with Gridbase.applyCells.
 *
 * Sections: (a) plumbing, (b) the listbox combobox (options, people), (c) the widgets,
 * (d) cells: startEdit, one-click checkboxes and stars, files dropped on a cell, (e) forms,
 * (f) the linked-record picker, (g) the record page's comments, (h) start-up. */
(function () {
  "use strict";
  var G = window.Gridbase;
  if (!G) return;
  var editors = G.editors = G.editors || {};

  /* ---- (a) plumbing -------------------------------------------------------------------- */
  function json(el, name, fallback) {
    var raw = el.getAttribute(name);
    if (!raw) return fallback;
    try { return JSON.parse(raw); } catch (e) { return fallback; }
  }
  function make(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined && text !== null) el.textContent = text;
    return el;
  }
  var uid = 0;
  function newId(prefix) { uid += 1; return prefix + "-" + uid + "-" + Math.random().toString(36).slice(2, 7); }
  var INPUT_TYPES = ["text", "number", "date", "datetime-local", "email", "url", "tel"];
  var INPUT_ATTRS = ["maxlength", "pattern", "placeholder", "inputmode", "autocomplete", "step", "min", "max"];

  // "Today" / "now" in the workspace's timezone (never the browser's): YYYY-MM-DD[THH:MM].
  function nowIn(tz, withTime) {
    var parts = {};
    try {
      new Intl.DateTimeFormat("en-CA", {
        timeZone: tz || "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      }).formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
    } catch (e) { return ""; }
    var day = parts.year + "-" + parts.month + "-" + parts.day;
    return withTime ? day + "T" + parts.hour + ":" + parts.minute : day;
  }

  function grow(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = Math.min(textarea.scrollHeight + 2, 480) + "px";
  }

  /* ---- (b) combobox: a text box over a listbox (ARIA 1.2 combobox pattern) --------------
   * opts: {label, multiple, choices: [{value, label, color, note}] (searched here) or
   * searchUrl (GET ?q= → {people|records: [...], more}), chosen: [...], floating (a cell: the
   * list is fixed under the box), onChange(chosen), onCommit(chosen), onCancel()}.
   * ↑/↓ move, Enter picks (one: commits; several: adds or removes), Backspace in an empty box
   * removes the last chip, Esc closes the list then cancels, Tab commits. */
  function combobox(opts) {
    var root = make("div", "cbx" + (opts.multiple ? " cbx-multi" : ""));
    var chips = make("ul", "cbx-chips");
    var input = make("input", "cbx-input cell-input");
    var list = make("ul", "cbx-list");
    var listId = newId("cbx");
    list.id = listId;
    list.setAttribute("role", "listbox");
    list.hidden = true;
    if (opts.multiple) list.setAttribute("aria-multiselectable", "true");
    input.type = "text";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-label", opts.label || "");
    input.placeholder = G.msg("search", "Search…");
    root.appendChild(chips);
    root.appendChild(input);
    root.appendChild(list);
    var chosen = (opts.chosen || []).slice();
    var items = [], active = -1, seq = 0, timer = null, pending = null, closed = false, listed = null;

    function same(a, b) { return String(a.value) === String(b.value); }
    function has(choice) { return chosen.some(function (c) { return same(c, choice); }); }
    function badge(choice) {
      var span = make("span", "badge opt-" + (choice.color || "gray"), choice.label || choice.value);
      if (!choice.color) span.className = "cbx-label";
      return span;
    }
    function drawChips() {
      chips.replaceChildren();
      chosen.forEach(function (choice) {
        var li = make("li", "cbx-chip");
        li.setAttribute("data-value", choice.value);
        li.appendChild(badge(choice));
        if (opts.multiple || opts.clearable !== false) { // one choice may be cleared too
          var x = make("button", "cbx-remove", "×");
          x.type = "button";
          x.tabIndex = -1;
          x.setAttribute("aria-label", G.msg("remove", "Remove") + " " + (choice.label || choice.value));
          x.addEventListener("mousedown", function (e) { e.preventDefault(); });
          x.addEventListener("click", function () { toggle(choice); input.focus(); });
          li.appendChild(x);
        }
        chips.appendChild(li);
      });
    }
    function place() {
      if (!opts.floating) return;
      var box = input.getBoundingClientRect();
      list.style.position = "fixed";
      list.style.left = box.left + "px";
      list.style.top = (box.bottom + 2) + "px";
      list.style.width = Math.max(box.width, 240) + "px";
      list.style.minWidth = "0";
    }
    function setActive(i) {
      active = i;
      items.forEach(function (it, n) { it.el.classList.toggle("is-active", n === i); });
      if (i >= 0 && items[i]) {
        input.setAttribute("aria-activedescendant", items[i].el.id);
        var el = items[i].el;
        if (el.offsetTop < list.scrollTop) list.scrollTop = el.offsetTop;
        else if (el.offsetTop + el.offsetHeight > list.scrollTop + list.clientHeight) {
          list.scrollTop = el.offsetTop + el.offsetHeight - list.clientHeight;
        }
      } else input.removeAttribute("aria-activedescendant");
    }
    function note(text) { list.appendChild(make("li", "note", text)); }
    function show(found, more) {
      list.replaceChildren();
      items = [];
      found.forEach(function (choice, n) {
        var li = make("li", "cbx-option");
        li.id = listId + "-" + n;
        li.setAttribute("role", "option");
        li.setAttribute("data-value", choice.value);
        li.setAttribute("aria-selected", String(has(choice)));
        li.appendChild(badge(choice));
        if (choice.note) li.appendChild(make("span", "cbx-note", choice.note));
        li.addEventListener("mousedown", function (e) { e.preventDefault(); }); // the box keeps the focus
        li.addEventListener("click", function () { pick(choice); });
        list.appendChild(li);
        items.push({ el: li, choice: choice });
      });
      if (!items.length) note(G.msg("no-match", "No match"));
      if (more) note(G.msg("more-match", "More match: type more to narrow the search"));
      place();
      if (opts.floating) window.addEventListener("scroll", onScroll, true); // only while it is open
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(items.length ? 0 : -1);
    }
    function onScroll(e) { if (e.target !== list) place(); }
    function hideList() {
      seq += 1;
      listed = null;
      window.removeEventListener("scroll", onScroll, true);
      window.clearTimeout(timer);
      list.hidden = true;
      list.replaceChildren();
      items = [];
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    // The choices matching the box: searched here (options) or asked of the server (people).
    function query() {
      window.clearTimeout(timer);
      var mine = ++seq;
      var term = input.value.trim();
      if (!opts.searchUrl) {
        var found = localChoices(term);
        show(found, false);
        listed = term;
        return Promise.resolve(found);
      }
      root.classList.add("is-loading");
      pending = G.request(opts.searchUrl + "?q=" + encodeURIComponent(term), { headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (data) {
          if (mine !== seq) return null;
          var found = data.people || data.records || data.choices || [];
          show(found, data.more);
          listed = term;
          return found;
        })
        .catch(function () {
          if (mine !== seq) return null;
          list.replaceChildren();
          note(G.errorText(""));
          list.hidden = false;
          return null;
        })
        .then(function (found) {
          if (mine === seq) root.classList.remove("is-loading");
          pending = null;
          return found;
        });
      return pending;
    }
    function changed() {
      drawChips();
      if (opts.onChange) opts.onChange(chosen.slice());
    }
    function toggle(choice) {
      if (has(choice)) chosen = chosen.filter(function (c) { return !same(c, choice); });
      else chosen.push(choice);
      changed();
      items.forEach(function (it) { it.el.setAttribute("aria-selected", String(has(it.choice))); });
    }
    function pick(choice) {
      if (opts.multiple) {
        toggle(choice);
        input.value = "";
        query();
        return;
      }
      chosen = [choice];
      input.value = "";
      hideList();
      if (opts.stays) changed(); // a cell is saved at once: its answer shows the choice
      commit();
    }
    function commit() {
      if (closed) return;
      if (!opts.stays) hideList();
      if (opts.onCommit) { closed = !opts.stays; opts.onCommit(chosen.slice()); }
    }
    function cancel() {
      if (closed) return;
      hideList();
      if (opts.onCancel) { closed = true; opts.onCancel(); }
    }
    // Enter picks the active choice of the list shown for what is typed; typed faster than the
    // list came (or than it was asked for): wait for the answer, then take its first match.
    // Enter then Tab at once: the answer comes after the focus left, and the first match is kept all
    // the same (without opening the list again where nobody looks).
    function enter() {
      var term = input.value.trim();
      var current = !list.hidden && listed === term && !pending;
      if (current && active >= 0 && items[active] && (term || !opts.multiple)) return pick(items[active].choice);
      if (!term) return opts.multiple || !opts.stays ? commit() : undefined;
      var wait = current ? Promise.resolve(items.map(function (it) { return it.choice; })) : lookup(term);
      // A form sent before the answer came waits for it (see (b2)): the person picked with
      // Enter is sent, not an empty field.
      var done = wait.then(function (found) {
        if (!found || !found.length) return;
        if (document.activeElement === input) return pick(found[0]);
        if (input.value.trim() !== term) return; // typed on since: that is what counts
        input.value = "";
        if (opts.multiple) { if (!has(found[0])) toggle(found[0]); }
        else if (opts.stays) { chosen = [found[0]]; changed(); }
      }).then(function () { if (root.gbPicking === done) root.gbPicking = null; });
      root.gbPicking = done;
    }
    function localChoices(term) {
      var low = term.toLowerCase();
      return (opts.choices || []).filter(function (c) {
        return !low || String(c.label || c.value).toLowerCase().indexOf(low) >= 0 ||
          String(c.note || "").toLowerCase().indexOf(low) >= 0;
      });
    }
    // The choices for `term`, asked apart from the list (which a Tab may close meanwhile).
    function lookup(term) {
      if (!opts.searchUrl) return Promise.resolve(localChoices(term));
      return G.request(opts.searchUrl + "?q=" + encodeURIComponent(term), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { return data ? (data.people || data.records || data.choices || []) : null; })
        .catch(function () { return null; });
    }

    drawChips();
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(query, opts.searchUrl ? 150 : 0);
    });
    input.addEventListener("focus", function () { if (list.hidden && !closed) query(); });
    input.addEventListener("click", function () { if (list.hidden) query(); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        if (list.hidden) { query(); return; }
        if (items.length) setActive((active + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length);
      } else if (e.key === "Home" && !list.hidden && items.length && !input.value) {
        e.preventDefault(); setActive(0);
      } else if (e.key === "End" && !list.hidden && items.length && !input.value) {
        e.preventDefault(); setActive(items.length - 1);
      } else if (e.key === "Enter") {
        e.preventDefault(); // never submits the form around it
        e.stopPropagation();
        enter();
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        if (!list.hidden && opts.stays) hideList();
        else cancel();
      } else if (e.key === "Backspace" && !input.value && chosen.length) {
        chosen.pop();
        changed();
      } else if (e.key === "Tab") {
        hideList();
        if (!opts.stays) commit();
      }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(function () {
        if (root.contains(document.activeElement)) return;
        hideList();
        if (!opts.stays) commit();
      }, 0);
    });
    return {
      el: root, input: input,
      focus: function (text) {
        input.focus();
        if (typeof text === "string") { input.value = text; query(); }
      },
      value: function () { return chosen.slice(); }
    };
  }

  /* ---- (c) the widgets ----------------------------------------------------------------- */
  function asList(value) {
    if (Array.isArray(value)) return value.map(String);
    return String(value || "").split(",").map(function (v) { return v.trim(); }).filter(Boolean);
  }

  // Options (select, multi): the field's own, with their colours, searched as typed.
  function optionsEditor(multiple) {
    return function (ctx) {
      var choices = (ctx.config.choices || []).slice();
      var chosen = asList(ctx.value).map(function (v) {
        return choices.filter(function (c) { return c.value === v; })[0] || { value: v, label: v };
      });
      if (!multiple) chosen = chosen.slice(0, 1);
      var box = combobox({
        label: ctx.label, multiple: multiple, choices: choices, chosen: chosen, floating: ctx.mode === "cell",
        stays: ctx.mode === "form",
        onChange: function (now) { if (ctx.mode === "form") ctx.set(multiple ? values(now) : (now[0] ? now[0].value : "")); },
        onCommit: function (now) { if (ctx.mode === "cell") ctx.set(multiple ? values(now).join(",") : (now[0] ? now[0].value : "")); },
        onCancel: ctx.cancel
      });
      return box;
    };
  }
  function values(list) { return list.map(function (c) { return c.value; }); }

  // People: searched on the server by any part of the name or account, department shown.
  function peopleEditor(multiple) {
    return function (ctx) {
      var box = combobox({
        label: ctx.label, multiple: multiple, searchUrl: ctx.config.search_url, chosen: ctx.config.chosen || [],
        floating: ctx.mode === "cell", stays: ctx.mode === "form",
        onChange: function (now) { if (ctx.mode === "form") ctx.set(multiple ? values(now) : (now[0] ? now[0].value : "")); },
        onCommit: function (now) { if (ctx.mode === "cell") ctx.set(multiple ? values(now).join(",") : (now[0] ? now[0].value : "")); },
        onCancel: ctx.cancel
      });
      box.el.classList.add("cbx-people");
      return box;
    };
  }

  // Stars: a slider. ←/↓ one less, →/↑ one more, a digit sets it, 0 or Delete clears, a click
  // on a star sets it (on the star already set: clears); Enter keeps, Esc cancels.
  editors.rating = function (ctx) {
    var top = parseInt((ctx.attrs || {}).max || 5, 10) || 5;
    var now = parseInt(ctx.value, 10) || 0;
    var el = make("div", "rating-editor");
    el.tabIndex = 0;
    el.setAttribute("role", "slider");
    el.setAttribute("aria-label", ctx.label || "");
    el.setAttribute("aria-valuemin", "0");
    el.setAttribute("aria-valuemax", String(top));
    var stars = [];
    for (var i = 1; i <= top; i++) {
      var s = make("span", "star");
      s.setAttribute("data-star", String(i));
      el.appendChild(s);
      stars.push(s);
    }
    function draw() {
      stars.forEach(function (s, n) {
        s.classList.toggle("on", n < now);
        s.textContent = n < now ? "★" : "";
      });
      el.setAttribute("aria-valuenow", String(now));
      el.setAttribute("aria-valuetext", now + " / " + top);
    }
    function setTo(n, keep) {
      now = Math.max(0, Math.min(top, n));
      draw();
      if (ctx.mode === "form" || keep) ctx.set(now ? String(now) : "");
    }
    el.addEventListener("mousedown", function (e) { e.preventDefault(); el.focus(); });
    el.addEventListener("click", function (e) {
      var star = e.target.closest && e.target.closest(".star");
      if (!star) return;
      var n = parseInt(star.getAttribute("data-star"), 10);
      setTo(n === now ? 0 : n, true);
    });
    el.addEventListener("keydown", function (e) {
      var k = e.key;
      if (k === "ArrowRight" || k === "ArrowUp") setTo(now + 1);
      else if (k === "ArrowLeft" || k === "ArrowDown") setTo(now - 1);
      else if (k === "Home") setTo(0);
      else if (k === "End") setTo(top);
      else if (k === "Delete" || k === "Backspace") setTo(0);
      else if (/^[0-9]$/.test(k) && parseInt(k, 10) <= top) setTo(parseInt(k, 10));
      else if (k === "Enter" && ctx.mode === "cell") { e.preventDefault(); e.stopPropagation(); ctx.set(now ? String(now) : ""); return; }
      else if (k === "Escape" && ctx.mode === "cell") { e.preventDefault(); e.stopPropagation(); ctx.cancel(); return; }
      else return;
      e.preventDefault();
      e.stopPropagation();
    });
    el.addEventListener("blur", function () {
      if (ctx.mode === "cell") window.setTimeout(function () { ctx.set(now ? String(now) : ""); }, 0);
    });
    if (typeof ctx.initialText === "string" && /^[0-9]$/.test(ctx.initialText)) now = Math.min(top, parseInt(ctx.initialText, 10));
    draw();
    return { el: el, focus: function () { el.focus(); } };
  };

  editors.select = optionsEditor(false);
  editors.multi = optionsEditor(true);
  editors.person = peopleEditor(false);
  editors.people = peopleEditor(true);

  /* ---- (d) cells ----------------------------------------------------------------------- */
  // Automations may change a record a moment after a save (a status set when an owner is
  // assigned): ask for the record's cells again then, and put those that changed in place.
  var REFRESH_AFTER = [1500, 5000];
  function cellsUrl(url) {
    var out = String(url || "").replace(/\/(cell|attach)\/[^/]*$/, "/cells");
    return out === url ? "" : out;
  }
  function refreshRecord(url) {
    if (!url) return Promise.resolve();
    return G.request(url, { headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (body) { if (body.trim()) G.swapCells(G.fragments(body), null); })
      .catch(function () { /* the next save or a reload shows it */ });
  }
  function refreshLater(editUrl) {
    var url = cellsUrl(editUrl);
    REFRESH_AFTER.forEach(function (ms) { setTimeout(function () { refreshRecord(url); }, ms); });
  }

  // Save `next` for a cell whose editor has been drawn: the answer replaces the cell.
  function saveCell(cell, next, original, after) {
    cell.classList.add("is-saving");
    return G.post(cell.getAttribute("data-edit-url"), next)
      .then(function (r) {
        return r.text().then(function (body) {
          var fresh = (r.ok || r.status === 422) && body.trim() && G.applyCells(cell, body);
          if (!fresh) throw new Error(G.errorText(body));
          if (after) after(fresh, r.ok); else fresh.focus();
          if (r.ok) refreshLater(fresh.getAttribute("data-edit-url"));
          return fresh;
        });
      })
      .catch(function (err) {
        cell.classList.remove("is-editing", "is-saving");
        if (original !== null) cell.innerHTML = original;
        G.cellError(cell, err instanceof TypeError ? G.errorText("") : err.message);
      });
  }

  function widgetOf(cell) {
    return cell.getAttribute("data-widget") || cell.getAttribute("data-kind") || "text";
  }

  // A checkbox cell flips in one click (or Enter, or Space), no editor drawn.
  function toggleCell(cell) {
    if (cell.classList.contains("is-saving")) return;
    var on = ["true", "1", "yes", "on"].indexOf(String(cell.getAttribute("data-value")).toLowerCase()) >= 0;
    saveCell(cell, on ? "false" : "true", null);
  }

  // The plain input (text, number, date, date-time, e-mail, url, phone, long text): the edit
  // kept as it was before editors.js; a date is never saved half typed nor emptied by accident.
  function inputEditor(cell, kind, value, opts) {
    var original = cell.innerHTML;
    var config = json(cell, "data-editor", {}) || {};
    var isDate = kind === "date" || kind === "datetime-local";
    var input;
    if (kind === "textarea") {
      input = make("textarea");
      input.rows = 4;
      input.value = value;
      input.addEventListener("input", function () { grow(input); });
    } else {
      input = make("input");
      input.type = INPUT_TYPES.indexOf(kind) >= 0 ? kind : "text";
      input.value = value;
      if (kind === "number") input.step = "any";
      var attrs = json(cell, "data-attrs", {}) || {};
      Object.keys(attrs).forEach(function (name) {
        if (INPUT_ATTRS.indexOf(name) >= 0) input.setAttribute(name, attrs[name]);
      });
    }
    input.className = "cell-input";
    input.setAttribute("aria-label", cell.getAttribute("data-label") || "");
    var cleared = false, done = false, holder = input;
    if (isDate) {
      holder = make("div", "date-editor");
      holder.appendChild(input);
      var today = make("button", "date-today", G.msg(kind === "date" ? "today" : "now", kind === "date" ? "Today" : "Now"));
      today.type = "button";
      today.addEventListener("mousedown", function (e) { e.preventDefault(); });
      today.addEventListener("click", function () { input.value = nowIn(config.tz, kind !== "date"); save(); });
      holder.appendChild(today);
      if (value) {
        var clear = make("button", "date-clear", G.msg("clear", "Clear"));
        clear.type = "button";
        clear.addEventListener("mousedown", function (e) { e.preventDefault(); }); // the input keeps the focus
        clear.addEventListener("click", function () { cleared = true; input.value = ""; save(); });
        holder.appendChild(clear);
      }
      input.addEventListener("keydown", function (e) {
        if (e.key !== "Backspace" && e.key !== "Delete") return;
        window.setTimeout(function () { cleared = input.value === "" && !input.validity.badInput; }, 0);
      });
    }
    if (kind === "textarea") {
      holder = make("div", "long-editor");
      holder.appendChild(input);
    }
    cell.classList.add("is-editing");
    cell.replaceChildren(holder);
    input.focus();
    if (kind === "textarea") grow(input);
    if (typeof opts.initialText === "string" && !isDate) input.value = opts.initialText;
    else if (input.select && !isDate) input.select();

    function cancel() {
      if (done) return;
      done = true;
      cell.classList.remove("is-editing");
      cell.innerHTML = original;
      cell.focus();
    }
    function refuse(text) { cancel(); G.cellError(cell, text); }
    function save() {
      if (done) return;
      var bad = G.msg("bad-date", "Incomplete date: the old value is kept");
      if (isDate && input.validity && input.validity.badInput) return refuse(bad);
      var next = input.value;
      if (next === value) return cancel(); // nothing changed: no request
      if (isDate && next === "" && !cleared) return refuse(bad);
      done = true;
      input.disabled = true;
      saveCell(cell, next, original);
    }
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); cancel(); }
      else if (e.key === "Enter" && !(kind === "textarea" && e.shiftKey)) { e.preventDefault(); e.stopPropagation(); save(); }
    });
    input.addEventListener("blur", function () {
      window.setTimeout(function () { if (!holder.contains(document.activeElement)) save(); }, 0);
    });
  }

  // opts.initialText: the edit began by typing a character, which replaces the value.
  function startEdit(cell, opts) {
    opts = opts || {};
    if (!cell || !cell.hasAttribute("data-edit-url") || cell.classList.contains("is-editing")) return;
    var widget = widgetOf(cell);
    var kind = cell.getAttribute("data-kind") || "text";
    if (widget === "link" || kind === "link") return openLinkCell(cell, opts.initialText);
    if (widget === "checkbox") {
      // Enter, Space or a click flips it; another character typed on it changes nothing.
      if (typeof opts.initialText === "string" && opts.initialText !== " ") return;
      return toggleCell(cell);
    }
    var value = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    var factory = editors[widget];
    if (!factory) return inputEditor(cell, kind, value, opts);
    var original = cell.innerHTML;
    var finished = false;
    function end() {
      finished = true;
      cell.classList.remove("is-editing");
    }
    var ctx = {
      mode: "cell", value: value, config: json(cell, "data-editor", {}) || {}, attrs: json(cell, "data-attrs", {}) || {},
      label: cell.getAttribute("data-label") || "", initialText: opts.initialText, cell: cell,
      set: function (next) {
        if (finished) return;
        finished = true;
        if (String(next) === String(value)) { cell.classList.remove("is-editing"); cell.innerHTML = original; cell.focus(); return; }
        saveCell(cell, next, original);
      },
      done: function () { if (!finished) { end(); cell.innerHTML = original; } },
      cancel: function () {
        if (finished) return;
        end();
        cell.innerHTML = original;
        cell.focus();
      }
    };
    var ed = factory(ctx);
    if (!ed || !ed.el) return inputEditor(cell, kind, value, opts);
    cell.classList.add("is-editing");
    cell.replaceChildren(ed.el);
    if (ed.focus) ed.focus(typeof opts.initialText === "string" ? opts.initialText : undefined);
  }

  function editableCell(target) {
    var cell = target.closest && target.closest("td.cell[data-edit-url]");
    return cell && !cell.classList.contains("is-editing") ? cell : null;
  }

  var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)");
  document.addEventListener("dblclick", function (e) {
    var cell = editableCell(e.target);
    if (cell && !e.target.closest("a, button, .star")) startEdit(cell);
  });
  document.addEventListener("click", function (e) {
    // One click ticks a checkbox or sets a rating, wherever the cell is.
    var toggle = e.target.closest && e.target.closest("td.cell[data-edit-url] .cb-toggle");
    if (toggle) { e.preventDefault(); toggleCell(toggle.closest("td.cell")); return; }
    var star = e.target.closest && e.target.closest("td.cell[data-edit-url]:not(.is-editing) .stars .star");
    if (star) {
      var cell = star.closest("td.cell");
      var n = Array.prototype.indexOf.call(star.parentNode.children, star) + 1;
      saveCell(cell, String(n === (parseInt(cell.getAttribute("data-value"), 10) || 0) ? "" : n), null);
      return;
    }
    // The record page (not a grid) and touch screens: a tap on an editable field edits it.
    var target = editableCell(e.target);
    if (!target || e.target.closest("a, button, input, select, textarea")) return;
    if (target.closest(".record-fields") || (coarse && coarse.matches)) startEdit(target);
  });
  document.addEventListener("keydown", function (e) {
    var cell = (e.key === "Enter" || (e.key === " " && widgetOf(e.target) === "checkbox")) &&
      e.target.matches && e.target.matches("td.cell[data-edit-url]") && editableCell(e.target);
    if (cell && !e.defaultPrevented) { e.preventDefault(); startEdit(cell); }
  });

  // Files dropped on an attachment cell go to the upload route (views/pages/files.py).
  function dropTarget(e) {
    return e.target.closest && e.target.closest("td.cell[data-upload-url], form.drop-upload");
  }
  document.addEventListener("dragover", function (e) {
    var target = dropTarget(e);
    if (!target || !e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") < 0) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
    target.classList.add("is-drop-target");
  });
  document.addEventListener("dragleave", function (e) {
    var target = dropTarget(e);
    if (target && !target.contains(e.relatedTarget)) target.classList.remove("is-drop-target");
  });
  document.addEventListener("drop", function (e) {
    var target = dropTarget(e);
    if (!target || !e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    target.classList.remove("is-drop-target");
    if (target.matches("form")) {
      var input = target.querySelector("input[type=file]");
      if (input) input.files = e.dataTransfer.files;
      if (target.requestSubmit) target.requestSubmit(); else target.submit();
      return;
    }
    uploadTo(target, e.dataTransfer.files);
  });
  function uploadTo(cell, files) {
    var url = cell.getAttribute("data-upload-url");
    var body = new FormData();
    body.append("csrf_token", G.csrfToken());
    Array.prototype.forEach.call(files, function (f) { body.append("file", f, f.name); });
    cell.classList.add("is-saving");
    G.request(url, { method: "POST", body: body })
      .then(function (r) {
        if (!r.ok) return r.text().then(function (t) { throw new Error(G.errorText(t)); });
        return refreshRecord(cellsUrl(url));
      })
      .catch(function (err) {
        cell.classList.remove("is-saving");
        G.cellError(cell, err instanceof TypeError ? G.errorText("") : err.message);
      })
      .then(function () { cell.classList.remove("is-saving"); });
  }

  /* ---- (e) forms: the same editors over the form's own inputs ---------------------------
   * <div class="field editor-host" data-widget data-editor data-field data-label> holds the
   * input that works without JavaScript (a select, checkboxes, a number...). The editor is
   * drawn next to it, which is hidden, and every change is written back into it: the form
   * posts exactly what it posted before. */
  function formSink(host, key) {
    var write = formWrite(host, key);
    return function (next) {
      write(next);
      // a form's other scripts (formlogic.js: conditional questions) hear that an answer changed
      host.dispatchEvent(new CustomEvent("gridbase:form-value", { bubbles: true, detail: { key: key } }));
    };
  }

  function formWrite(host, key) {
    return function (next) {
      var list = Array.isArray(next) ? next.map(String) : (next === "" ? [] : [String(next)]);
      var controls = host.querySelectorAll('[name="' + G.cssEscape(key) + '"]');
      var select = host.querySelector('select[name="' + G.cssEscape(key) + '"]');
      host.querySelectorAll("input.editor-extra").forEach(function (x) { x.remove(); });
      if (select) {
        var v = list[0] || "";
        if (v && !Array.prototype.some.call(select.options, function (o) { return o.value === v; })) {
          var o = make("option", "", v);
          o.value = v;
          select.appendChild(o);
        }
        select.value = v;
        return;
      }
      var boxes = Array.prototype.filter.call(controls, function (c) { return c.type === "checkbox" || c.type === "radio"; });
      if (boxes.length || host.getAttribute("data-widget") === "people" || host.getAttribute("data-widget") === "multi") {
        var have = [];
        boxes.forEach(function (b) { b.checked = list.indexOf(b.value) >= 0; if (b.checked) have.push(b.value); });
        list.filter(function (v) { return have.indexOf(v) < 0; }).forEach(function (v) {
          var hidden = make("input", "editor-extra");
          hidden.type = "hidden";
          hidden.name = key;
          hidden.value = v;
          host.appendChild(hidden);
        });
        return;
      }
      if (controls[0]) {
        controls[0].value = list.join(",");
        controls[0].dispatchEvent(new Event("change", { bubbles: true }));
      }
    };
  }

  function formValue(host, key) {
    var out = [];
    host.querySelectorAll('[name="' + G.cssEscape(key) + '"]').forEach(function (c) {
      if (c.tagName === "SELECT") { if (c.value) out.push(c.value); }
      else if (c.type === "checkbox" || c.type === "radio") { if (c.checked) out.push(c.value); }
      else if (c.value) out.push(c.value);
    });
    return out;
  }

  var DRAWN_IN_FORMS = ["select", "multi", "person", "people", "rating"];
  function initFormHost(host) {
    if (host.hasAttribute("data-editor-ready")) return;
    var widget = host.getAttribute("data-widget");
    var key = host.getAttribute("data-field");
    var config = json(host, "data-editor", {}) || {};
    if (widget === "textarea") {
      host.setAttribute("data-editor-ready", "");
      host.querySelectorAll("textarea").forEach(function (t) { grow(t); t.addEventListener("input", function () { grow(t); }); });
      return;
    }
    if (widget === "date" || widget === "datetime-local") {
      host.setAttribute("data-editor-ready", "");
      var input = host.querySelector("input");
      if (!input) return;
      var today = make("button", "btn btn-sm date-today", G.msg(widget === "date" ? "today" : "now", widget === "date" ? "Today" : "Now"));
      today.type = "button";
      today.addEventListener("click", function () { input.value = nowIn(config.tz, widget !== "date"); });
      input.insertAdjacentElement("afterend", today);
      return;
    }
    if (widget === "file") {
      host.setAttribute("data-editor-ready", "");
      var file = host.querySelector("input[type=file]");
      if (!file) return;
      host.classList.add("drop-zone");
      host.addEventListener("dragover", function (e) { e.preventDefault(); host.classList.add("is-drop-target"); });
      host.addEventListener("dragleave", function (e) { if (!host.contains(e.relatedTarget)) host.classList.remove("is-drop-target"); });
      host.addEventListener("drop", function (e) {
        e.preventDefault();
        host.classList.remove("is-drop-target");
        if (!e.dataTransfer || !e.dataTransfer.files.length) return;
        var all = new DataTransfer();
        if (file.multiple) Array.prototype.forEach.call(file.files, function (f) { all.items.add(f); });
        Array.prototype.forEach.call(e.dataTransfer.files, function (f) { if (file.multiple || !all.items.length) all.items.add(f); });
        file.files = all.files;
        file.dispatchEvent(new Event("change", { bubbles: true }));
      });
      return;
    }
    var factory = editors[widget];
    var plugin = DRAWN_IN_FORMS.indexOf(widget) < 0;
    if (!factory || (plugin && !config.script)) return; // drawn by the server as it is (a plugin's script may come later)
    host.setAttribute("data-editor-ready", "");
    var fallback = make("div", "editor-fallback");
    var label = host.querySelector(":scope > label, :scope > .label");
    Array.prototype.slice.call(host.children).forEach(function (child) {
      if (child === label || child.matches(".help, .field-error")) return;
      fallback.appendChild(child);
    });
    var current = formValue(fallback, key);
    var ctx = {
      mode: "form", value: widget === "multi" || widget === "people" ? current : (current[0] || ""), config: config,
      attrs: json(host, "data-attrs", {}) || {}, label: host.getAttribute("data-label") || "", host: host,
      set: formSink(fallback, key), done: function () {}, cancel: function () {}
    };
    if (widget === "person" || widget === "people") {
      // the chosen people by name, from the fallback's own labels (the server's list of them)
      ctx.config.chosen = (config.chosen || []);
    }
    var ed = factory(ctx);
    if (!ed || !ed.el) { host.removeAttribute("data-editor-ready"); return; }
    var spot = label ? label.nextSibling : host.firstChild;
    host.insertBefore(ed.el, spot);
    host.insertBefore(fallback, ed.el.nextSibling);
    if (!plugin || ed.replaces !== false) fallback.hidden = true;
    var marked = fallback.querySelector("[aria-required], [aria-describedby]");
    if (marked && ed.input) { // required, or refused with a reason: the editor's box says so now
      ["aria-required", "aria-describedby", "aria-invalid"].forEach(function (name) {
        if (marked.hasAttribute(name)) ed.input.setAttribute(name, marked.getAttribute(name));
      });
    }
    var oldId = fallback.querySelector("[id]");
    if (label && label.tagName === "LABEL" && oldId && ed.input) {
      // the label names the editor's own box now
      var id = oldId.id;
      oldId.removeAttribute("id");
      ed.input.id = id;
    } else if (ed.input && label) {
      if (!label.id) label.id = newId("lbl");
      ed.input.setAttribute("aria-labelledby", label.id);
    }
  }

  /* ---- (f) linked-record picker -------------------------------------------------------
   * <div class="link-picker" data-search-url="/…/link/FIELD" data-multiple="true|false"
   *      data-name="FIELD" [data-save-url="/…/cell/FIELD"] data-msg-empty data-msg-more>
   *   <ul class="link-chosen"><li class="link-chip" data-id="rec…"><input type="hidden"
   *     name="FIELD" value="rec…"><a>title</a><button class="link-remove">×</button></li></ul>
   *   <div class="link-search-box"><input class="link-search"><ul class="link-results"></ul></div>
   * </div>
   * Typing (or a click on the empty box, or ↓) asks GET data-search-url?q=… → JSON
   * {records: [{id, title}], more}: the linked table's primary field searched as the person;
   * ↑/↓ move, Enter or a click picks (one record replaces the other when data-multiple is
   * false), × removes one. Without data-save-url the chips' hidden inputs go with their form;
   * with it every change is saved at once as a cell (POST value=ids joined by commas). */
  function openLinkCell(cell, initialText) {
    var picker = cell.querySelector(".link-picker") || buildPicker(cell);
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
    if (!search) return;
    search.focus();
    if (typeof initialText === "string") { // typing began the edit: search for it
      search.value = initialText;
      search.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  /* A grid's link cell shows its chips only (<ul class="link-chosen"><li class="link-chip"
   * data-id><a>title</a></li></ul>): its picker is drawn once per page for the column
   * (<template class="link-picker-template" data-field="FIELD">, _macros.html) and built in
   * the cell here when the cell is edited: the chips move into it with their hidden inputs and
   * × buttons. Returns the picker, or null when the page has no picker for the column. */
  function buildPicker(cell) {
    var field = cell.getAttribute("data-field") || "";
    var tpl = document.querySelector('template.link-picker-template[data-field="' + G.cssEscape(field) + '"]');
    var model = tpl && tpl.content.querySelector(".link-picker");
    if (!model || !cell.hasAttribute("data-edit-url")) return null;
    var picker = model.cloneNode(true);
    picker.setAttribute("data-save-url", cell.getAttribute("data-edit-url"));
    var chosen = picker.querySelector(".link-chosen");
    var name = picker.getAttribute("data-name") || "";
    var label = picker.getAttribute("data-msg-remove") || "Remove";
    var shown = cell.querySelector(".link-chosen");
    if (shown) {
      Array.prototype.slice.call(shown.querySelectorAll(".link-chip")).forEach(function (li) {
        var input = make("input");
        input.type = "hidden";
        input.name = name;
        input.value = li.getAttribute("data-id") || "";
        var remove = make("button", "link-remove", "×");
        remove.type = "button";
        remove.title = label;
        remove.setAttribute("aria-label", label + " " + li.textContent.trim());
        li.insertBefore(input, li.firstChild);
        li.appendChild(remove);
        chosen.appendChild(li);
      });
      shown.remove();
    }
    var search = picker.querySelector(".link-search");
    if (search && picker.getAttribute("data-multiple") === "false" && chosen.children.length) {
      search.placeholder = tpl.getAttribute("data-msg-replace") || search.placeholder;
    }
    if (cell.closest("table.grid")) { // no Tab stops of their own in a grid cell (grid.js decorate)
      picker.querySelectorAll("button, input").forEach(function (el) { el.tabIndex = -1; });
    }
    cell.insertBefore(picker, cell.firstChild);
    return picker;
  }

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
    saveCell(cell, pickerIds(picker).join(","), null, function (fresh, ok) {
      var search = fresh.querySelector(".link-search");
      if (inGrid && open && multiple && ok) openLinkCell(fresh);
      else if (inGrid) fresh.focus();
      else if (had && search) search.focus();
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
    var listId = newId("lr");
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
    function note(text) { list.appendChild(make("li", "note", text)); }
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
        var li = make("li", "", rec.title);
        li.id = listId + "-" + n;
        li.setAttribute("role", "option");
        li.setAttribute("data-id", rec.id);
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
      G.request(url, { headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (data) { if (mine === seq) show(data); })
        .catch(function () {
          if (mine !== seq) return;
          list.replaceChildren();
          items = [];
          note(G.errorText(""));
          list.hidden = false;
        })
        .then(function () { if (mine === seq) picker.classList.remove("is-loading"); });
    }
    function chip(rec) {
      var li = make("li", "link-chip");
      li.setAttribute("data-id", rec.id);
      var input = make("input");
      input.type = "hidden";
      input.name = picker.getAttribute("data-name") || "";
      input.value = rec.id;
      var remove = make("button", "link-remove", "×");
      remove.type = "button";
      var label = picker.getAttribute("data-msg-remove") || "Remove";
      remove.title = label;
      remove.setAttribute("aria-label", label + " " + rec.title);
      li.appendChild(input);
      li.appendChild(make("span", "", rec.title));
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
      } else if (e.key === "Backspace" && !search.value) { // as in the other editors: the last chip goes
        var chips = picker.querySelectorAll(".link-chip");
        if (!chips.length) return;
        e.preventDefault();
        chips[chips.length - 1].remove();
        changed();
      }
    });
  }

  /* ---- (b2) a form waits for a pick still being looked up --------------------------------
   * Enter in a search box then at once the form's button (or Ctrl+Enter): the form is held
   * until every combobox in it has its answer, then sent with the same button. */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || !form.querySelectorAll) return;
    var waits = Array.prototype.map.call(form.querySelectorAll(".cbx"), function (el) { return el.gbPicking; })
      .filter(Boolean);
    if (!waits.length) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var by = e.submitter && e.submitter.form === form ? e.submitter : undefined;
    Promise.all(waits).then(function () {
      if (form.requestSubmit) form.requestSubmit(by); else form.submit();
    });
  }, true);

  /* ---- (g) a comment appears in place once posted -------------------------------------- */
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form.comment-form")) return;
    e.preventDefault();
    var box = form.querySelector("textarea");
    var button = form.querySelector("button[type=submit]");
    var old = form.querySelector(".field-error");
    if (old) old.remove();
    if (button) button.disabled = true;
    G.request(form.getAttribute("action"), { method: "POST", body: new URLSearchParams(new FormData(form)) })
      .then(function (r) {
        return r.text().then(function (body) {
          if (!r.ok) throw new Error(G.errorText(body));
          var item = G.fragments(body)[0];
          var list = document.querySelector("ul.comments");
          if (item && list) list.appendChild(item);
          if (box) box.value = "";
        });
      })
      .catch(function (err) {
        var note = make("div", "field-error", err instanceof TypeError ? G.errorText("") : err.message);
        note.setAttribute("role", "alert");
        form.insertBefore(note, button || null);
      })
      .then(function () { if (button) button.disabled = false; });
  });

  /* ---- (h) start-up: pickers, form editors, plugin editors' scripts --------------------- */
  var loading = {};
  function loadScripts(scope) {
    var found = [];
    if (scope.matches && scope.matches("[data-editor]")) found.push(scope);
    scope.querySelectorAll("[data-editor]").forEach(function (el) { found.push(el); });
    found.forEach(function (el) {
      var config = json(el, "data-editor", {}) || {};
      var src = config.script;
      if (!src || loading[src] || !/^\/editors\/[\w.-]+\.js$/.test(src)) return;
      loading[src] = true;
      var s = document.createElement("script");
      s.src = src;
      s.defer = true;
      s.addEventListener("load", function () {
        document.querySelectorAll('.editor-host[data-widget="' + G.cssEscape(config.widget || "") + '"]').forEach(initFormHost);
      });
      document.head.appendChild(s);
    });
  }
  function init(root) {
    var scope = root && root.querySelectorAll ? root : document;
    // a saved link cell comes back with its chips only: off the grid (the record page) its
    // picker is always shown, so it is built again at once
    var linkCells = Array.prototype.slice.call(scope.querySelectorAll("td.link-cell[data-edit-url]"));
    if (scope.matches && scope.matches("td.link-cell[data-edit-url]")) linkCells.push(scope);
    linkCells.forEach(function (cell) {
      if (!cell.closest("table.grid") && !cell.querySelector(".link-picker")) buildPicker(cell);
    });
    scope.querySelectorAll(".link-picker").forEach(initPicker);
    if (scope.matches && scope.matches(".editor-host")) initFormHost(scope);
    scope.querySelectorAll(".editor-host").forEach(initFormHost);
    loadScripts(scope);
  }

  G.editing = { startEdit: startEdit, editableCell: editableCell };
  G.startEdit = startEdit;
  G.editableCell = editableCell;
  G.refreshLater = refreshLater;
  G.combobox = combobox;
  G.nowIn = nowIn;
  if (G.onInit) G.onInit(init);
  if (document.readyState !== "loading") init(document);
})();
