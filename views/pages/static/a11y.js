/* Gridbase accessibility helpers (issue 27, docs/accessibility.md). Plain ES2017, no build
 * step, no inline scripts (strict CSP). Loaded after app.js; every page works without it.
 *
 * Sections:
 * (a) a refused form's error summary (_macros.html error_summary): it has the focus when the
 *     page comes back (the server's autofocus does that without JavaScript too), and each of
 *     its links puts the focus in the wrong field's own input, also when editors.js drew an
 *     editor over the server's input.
 * (b) popovers and dialogs: a menu (<details class="menu">), the phone's sidebar and any
 *     native <dialog> opened with showModal() keep the Tab key inside while open (Tab from
 *     the last stop goes to the first, Shift+Tab from the first to the last), close on
 *     Escape, and give the focus back to what opened them. Gridbase.openDialog(dialog,
 *     opener) opens a <dialog> modally that way.
 * (c) a chart stays one image named in the page's language (Vega would rename it). */
(function () {
  "use strict";
  var G = window.Gridbase || (window.Gridbase = {});

  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), " +
    "select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";

  function visible(el) {
    return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length) &&
      window.getComputedStyle(el).visibility !== "hidden";
  }
  function stops(root) {
    return Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (el) {
      if (!visible(el) || el.closest("[hidden], [inert]")) return false;
      // inside a closed <details>, only its <summary> is reachable
      var d = el.parentElement && el.parentElement.closest("details:not([open])");
      return !d || (el.tagName === "SUMMARY" && el.parentElement === d);
    });
  }

  /* ---- (a) the error summary ----------------------------------------------------------- */
  function fieldControl(key) {
    var host = document.querySelector('.field[data-field="' + (G.cssEscape ? G.cssEscape(key) : key) + '"]');
    if (!host) return null;
    var candidates = stops(host).filter(function (el) { return !el.closest(".label, label.field-label"); });
    return candidates[0] || null;
  }
  function initSummary() {
    var summary = document.querySelector(".error-summary");
    if (!summary) return;
    if (!summary.contains(document.activeElement)) summary.focus();
    summary.addEventListener("click", function (e) {
      var link = e.target.closest && e.target.closest("a[data-field]");
      if (!link) return;
      var control = fieldControl(link.getAttribute("data-field"));
      if (!control) return; // the link's own #anchor still scrolls there
      e.preventDefault();
      control.focus();
      if (control.scrollIntoView) control.scrollIntoView({ block: "center" });
    });
  }

  /* ---- (b) popovers and dialogs ------------------------------------------------------- */
  // The one popover open now: {root, opener, close(returnFocus)}.
  var open = null;

  function trap(e, root) {
    var list = stops(root);
    if (!list.length) { e.preventDefault(); return; }
    var first = list[0], last = list[list.length - 1];
    var at = list.indexOf(document.activeElement);
    if (e.shiftKey && (at <= 0)) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (at === list.length - 1 || at < 0)) { e.preventDefault(); first.focus(); }
  }

  document.addEventListener("keydown", function (e) {
    // a menu just opened whose "toggle" event has not come yet
    var menu = !open && document.activeElement && document.activeElement.closest &&
      document.activeElement.closest("details.menu[open]");
    if (menu) openMenu(menu);
    if (!open) return;
    if (!open.root.isConnected) { open = null; return; }
    if (e.key === "Escape") {
      // an editor or a list inside the popover closes first (they stop the event themselves)
      if (e.defaultPrevented) return;
      e.preventDefault();
      open.close(true);
    } else if (e.key === "Tab") {
      // a menu the focus has already left (a click elsewhere, a script) closes instead
      if (open.root.tagName !== "DIALOG" && !open.root.contains(document.activeElement)) { open.close(false); return; }
      trap(e, open.root);
    }
  });

  function remember(root, opener, close) {
    if (open && open.root !== root) open.close(false);
    open = { root: root, opener: opener, close: close };
  }
  function forget(root, returnFocus) {
    if (!open || open.root !== root) return;
    var opener = open.opener;
    open = null;
    if (returnFocus && opener && opener.isConnected) opener.focus();
  }

  // Menus: <details class="menu"><summary>Columns</summary><div class="menu-list">…</div></details>
  function openMenu(menu) {
    if (open && open.root === menu) return;
    var summary = menu.querySelector(":scope > summary");
    remember(menu, summary, function (returnFocus) {
      menu.open = false;
      forget(menu, returnFocus);
    });
    var inside = stops(menu).filter(function (el) { return el !== summary; });
    if (inside[0]) inside[0].focus();
  }
  document.addEventListener("toggle", function (e) {
    var menu = e.target;
    if (!menu.matches || !menu.matches("details.menu")) return;
    if (menu.open) {
      openMenu(menu);
    } else {
      var hadFocus = menu.contains(document.activeElement);
      forget(menu, hadFocus);
    }
  }, true);

  // A click outside the open menu closes it (the focus stays where the click put it).
  document.addEventListener("click", function (e) {
    if (!open || !open.root.matches("details.menu")) return;
    if (open.root.contains(e.target)) return;
    open.close(false);
  });

  // The phone's sidebar (app.js (g) toggles body.sidebar-open from .sidebar-toggle).
  var sidebarWatch = new MutationObserver(function () {
    var sidebar = document.querySelector(".sidebar");
    var toggle = document.querySelector(".sidebar-toggle");
    if (!sidebar || !toggle) return;
    var isOpen = document.body.classList.contains("sidebar-open");
    if (isOpen && (!open || open.root !== sidebar)) {
      remember(sidebar, toggle, function (returnFocus) {
        document.body.classList.remove("sidebar-open");
        toggle.setAttribute("aria-expanded", "false");
        forget(sidebar, returnFocus);
      });
      var first = stops(sidebar)[0];
      if (first) first.focus();
    } else if (!isOpen && open && open.root === sidebar) {
      forget(sidebar, sidebar.contains(document.activeElement));
    }
  });
  sidebarWatch.observe(document.body, { attributes: true, attributeFilter: ["class"] });

  // Native dialogs: Gridbase.openDialog(dialog, opener) shows it modally (the page behind is
  // inert); Escape (the dialog's own cancel) or dialog.close() gives the focus back.
  function openDialog(dialog, opener) {
    opener = opener || document.activeElement;
    if (!dialog.open) dialog.showModal();
    remember(dialog, opener, function (returnFocus) {
      if (dialog.open) dialog.close();
      forget(dialog, returnFocus);
    });
    dialog.addEventListener("close", function onClose() {
      // The close event comes a moment after the close: a dialog opened again meanwhile (Escape,
      // then Enter on its button at once) is the new opening's, and keeps its focus.
      if (dialog.open) return;
      dialog.removeEventListener("close", onClose);
      forget(dialog, true);
    });
    var first = stops(dialog)[0];
    if (first && !dialog.contains(document.activeElement)) first.focus();
  }
  G.openDialog = openDialog;
  // <button data-dialog="id"> opens <dialog id="id">; <button data-close> inside closes it.
  document.addEventListener("click", function (e) {
    var opener = e.target.closest && e.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog && dialog.tagName === "DIALOG") { e.preventDefault(); openDialog(dialog, opener); }
      return;
    }
    var closer = e.target.closest && e.target.closest("dialog [data-close]");
    if (closer) { e.preventDefault(); closer.closest("dialog").close(); }
  });

  /* ---- (c) charts ---------------------------------------------------------------------
   * <div class="chart" role="img" aria-label="图表：title"> (dashboard.html): Vega makes the
   * element a "graphics-document" with the English role description "visualization" and
   * English descriptions on every mark. It stays one image named in the page's language; its
   * figures are read from the "show as table" table next to it. */
  function keepChartImage(el) {
    if (el.getAttribute("role") !== "img") el.setAttribute("role", "img");
    if (el.hasAttribute("aria-roledescription")) el.removeAttribute("aria-roledescription");
  }
  var chartWatch = new MutationObserver(function (list) {
    list.forEach(function (m) { keepChartImage(m.target); });
  });
  document.querySelectorAll(".dash-card .chart").forEach(function (chart) {
    chartWatch.observe(chart, { attributes: true, attributeFilter: ["role", "aria-roledescription"] });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initSummary);
  else initSummary();
})();
