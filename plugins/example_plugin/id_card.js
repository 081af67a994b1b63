/* The id_card field type's editor (plugins/example_plugin/id_card.py, Editor.script): a box that
 * takes digits and X only, shows the number in its three parts (region · birth date · sequence
 * and check) and says as you type whether the check character matches, before anything is
 * sent. Registers itself as Gridbase.editors.id_card, as any plugin's editor does; the server
 * checks the number again on save. */
(function () {
  "use strict";
  var G = window.Gridbase;
  if (!G || !G.editors) return;
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  function verdict(text) {
    if (!text) return { ok: true, note: "" };
    if (text.length < 18) return { ok: false, note: text.length + " / 18" };
    var total = 0;
    for (var i = 0; i < 17; i++) total += parseInt(text[i], 10) * WEIGHTS[i];
    var born = text.slice(6, 10) + "-" + text.slice(10, 12) + "-" + text.slice(12, 14);
    var day = new Date(born + "T00:00:00Z");
    if (isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== born) return { ok: false, note: "✗ " + born };
    if (CHECK[total % 11] !== text[17]) return { ok: false, note: "✗ " + text.slice(0, 17) + "?" };
    return { ok: true, note: "✓ " + born };
  }

  G.editors.id_card = function (ctx) {
    var wrap = document.createElement("div");
    wrap.className = "idcard-editor";
    var input = document.createElement("input");
    input.className = "cell-input idcard-input";
    input.maxLength = 18;
    input.autocomplete = "off";
    input.spellcheck = false;
    input.inputMode = "text";
    input.setAttribute("aria-label", ctx.label || "");
    input.placeholder = "110105194912310021";
    var start = String(ctx.value || "");
    input.value = start.indexOf("*") >= 0 ? "" : start; // a masked number is typed anew, never edited
    var hint = document.createElement("span");
    hint.className = "idcard-hint";
    hint.setAttribute("aria-live", "polite");
    wrap.appendChild(input);
    wrap.appendChild(hint);
    var done = false;
    function tidy() {
      var clean = input.value.toUpperCase().replace(/[^0-9X]/g, "").slice(0, 18);
      if (clean !== input.value) input.value = clean;
      var v = verdict(clean);
      hint.textContent = v.note;
      wrap.classList.toggle("is-bad", !v.ok && clean.length === 18);
      if (ctx.mode === "form") ctx.set(clean);
    }
    function save() {
      if (done || ctx.mode !== "cell") return;
      done = true;
      if (input.value === start || (input.value === "" && start.indexOf("*") >= 0)) ctx.cancel();
      else ctx.set(input.value);
    }
    input.addEventListener("input", tidy);
    input.addEventListener("keydown", function (e) {
      if (ctx.mode !== "cell") return;
      if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); save(); }
      else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); done = true; ctx.cancel(); }
    });
    input.addEventListener("blur", function () { window.setTimeout(save, 0); });
    tidy();
    return {
      el: wrap, input: input,
      focus: function (text) {
        input.focus();
        if (typeof text === "string") { input.value = text; tidy(); }
      }
    };
  };
})();
