/* Gridbase keyboard paths (issue 27, docs/accessibility.md): what a person using only the
 * keyboard needs beyond app.js's own keys.
 *
 * A kanban card that can be moved is ONE Tab stop (not two: the card, then the link of its
 * title): Enter on the card opens its record, as the link would, and Alt+← / Alt+→ moves it
 * (app.js). The link stays for the mouse and for a screen reader's reading cursor; it is only
 * taken out of the Tab order, by script, so without JavaScript it remains the way in.
 * Plain ES2017, no inline scripts (CSP). */
(function () {
  "use strict";
  var CARD = ".kanban .card[data-move-url]";
  var LINK = ".card-title a[href]";

  function setup(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var cards = Array.prototype.slice.call(scope.querySelectorAll(CARD));
    if (scope.matches && scope.matches(CARD)) cards.push(scope);
    cards.forEach(function (card) {
      var link = card.querySelector(LINK);
      if (link && link.tabIndex !== -1) link.tabIndex = -1;
    });
  }

  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || e.defaultPrevented) return;
    var card = e.target.closest && e.target.closest(CARD);
    if (!card || e.target !== card) return;
    var link = card.querySelector(LINK);
    if (!link) return;
    e.preventDefault();
    link.click();
  });

  function start() {
    setup(document);
    // A moved card comes back drawn anew by the server (app.js), a live change redraws the
    // board (live.js): their links leave the Tab order too.
    var board = document.querySelector(".kanban");
    if (!board) return;
    var region = board.closest("[data-live-region]") || board;
    new MutationObserver(function () { setup(region); }).observe(region, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
