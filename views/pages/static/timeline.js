/* The timeline view (views/pages/timeline.py): drag a bar to move it, drag its right edge to
 * change its end, or use Alt+Left/Right (move) and Alt+Shift+Left/Right (end) on a focused bar.
 * Each change is one POST to the view's move URL (record, days, edge); the server writes it
 * as the signed-in person and answers the bar's new dates, or the reason it refused. Plain
 * ES2017, no inline styles in the HTML (element.style is set from here while dragging). */
(function () {
  "use strict";

  function status(text) {
    var box = document.getElementById("tl-status");
    if (box) { box.textContent = text; }
  }

  function send(timeline, bar, days, edge) {
    var G = window.Gridbase;
    var body = new URLSearchParams({ record: bar.getAttribute("data-record"), days: String(days), edge: edge });
    return G.request(timeline.getAttribute("data-move-url"), { method: "POST", body: body })
      .then(function (res) {
        return res.json().then(function (data) { return { ok: res.ok, data: data }; });
      })
      .then(function (answer) {
        if (!answer.ok) {
          status(answer.data.error || G.msg("invalid", "Invalid value"));
          bar.classList.add("tl-refused");
          return false;
        }
        status(bar.textContent.trim() + ": " + answer.data.start + " – " + answer.data.end);
        sessionStorage.setItem("gridbase-timeline-focus", bar.getAttribute("data-record"));
        window.location.reload();
        return true;
      })
      .catch(function () { status(G.msg("offline", "The change could not be sent")); return false; });
  }

  function columnWidth(timeline, bar) {
    var head = timeline.querySelector(".tl-head .tl-col");
    return head ? head.getBoundingClientRect().width : bar.getBoundingClientRect().width;
  }

  function setUp(timeline) {
    var unit = parseInt(timeline.getAttribute("data-unit-days"), 10) || 1;
    var dragging = null;

    timeline.addEventListener("pointerdown", function (e) {
      var bar = e.target.closest(".tl-bar.tl-movable");
      if (!bar || e.button !== 0) { return; }
      dragging = { bar: bar, x: e.clientX, edge: e.target.classList.contains("tl-handle") ? "end" : "start",
                   width: columnWidth(timeline, bar), moved: false };
      e.preventDefault();  // no native drag of the link, no text selection
      bar.setPointerCapture(e.pointerId);
      bar.classList.add("tl-dragging");
    });

    timeline.addEventListener("pointermove", function (e) {
      if (!dragging) { return; }
      var dx = e.clientX - dragging.x;
      if (Math.abs(dx) > 3) { dragging.moved = true; }
      if (dragging.edge === "end") {
        dragging.bar.style.marginRight = (-dx) + "px";
      } else {
        dragging.bar.style.transform = "translateX(" + dx + "px)";
      }
    });

    function finish(e) {
      if (!dragging) { return; }
      var d = dragging;
      dragging = null;
      d.bar.classList.remove("tl-dragging");
      var cols = Math.round((e.clientX - d.x) / (d.width || 1));
      d.bar.style.transform = "";
      d.bar.style.marginRight = "";
      if (d.moved) {
        d.bar.setAttribute("data-dragged", "1");  // the click that follows a drag does not open the record
        if (cols !== 0) { send(timeline, d.bar, cols * unit, d.edge); }
      }
    }
    timeline.addEventListener("pointerup", finish);
    timeline.addEventListener("pointercancel", function () {
      if (dragging) { dragging.bar.style.transform = ""; dragging.bar.style.marginRight = ""; dragging = null; }
    });

    timeline.addEventListener("dragstart", function (e) {
      if (e.target.closest && e.target.closest(".tl-bar.tl-movable")) { e.preventDefault(); }
    });

    timeline.addEventListener("click", function (e) {
      var bar = e.target.closest(".tl-bar");
      if (bar && bar.getAttribute("data-dragged")) {
        e.preventDefault();
        bar.removeAttribute("data-dragged");
      }
    });

    timeline.addEventListener("keydown", function (e) {
      var bar = e.target.closest(".tl-bar.tl-movable");
      if (!bar || !e.altKey || (e.key !== "ArrowLeft" && e.key !== "ArrowRight")) { return; }
      e.preventDefault();
      send(timeline, bar, (e.key === "ArrowLeft" ? -1 : 1) * unit, e.shiftKey ? "end" : "start");
    });

    var focus = sessionStorage.getItem("gridbase-timeline-focus");
    if (focus) {
      sessionStorage.removeItem("gridbase-timeline-focus");
      var again = timeline.querySelector('.tl-bar[data-record="' + window.Gridbase.cssEscape(focus) + '"]');
      if (again) { again.focus(); }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".timeline[data-move-url]"), setUp);
  });
})();
