/* Conditional questions on forms (views/pages/forms.py): a question with data-show-if
   ({field, is} / {field, in} / {field, not_empty}) is shown only while the answer it names
   matches; the server applies the same rule (engine.model.FormField.shown) and drops the answer
   of a question not asked. Plain ES2017, no inline script (strict CSP). */
(function () {
  "use strict";

  function answers(form, key) {
    var host = form.querySelector('.field[data-field="' + (window.Gridbase ? window.Gridbase.cssEscape(key) : key) + '"]');
    if (host && host.hidden) return [];  // a question not asked has no answer
    var out = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name !== key || el.disabled) return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) out.push(host && host.dataset.widget === "checkbox" ? "True" : el.value);
      } else if (el.tagName === "SELECT" && el.multiple) {
        Array.prototype.forEach.call(el.selectedOptions, function (o) { if (o.value) out.push(o.value); });
      } else if (el.value !== "") {
        out.push(el.value);
      }
    });
    return out;
  }

  function matches(cond, given) {
    if (cond.not_empty) return given.length > 0;
    var wanted = (cond["in"] !== undefined ? cond["in"] : [cond.is]).map(String);
    return given.some(function (g) { return wanted.indexOf(g) >= 0; });
  }

  function refresh(form) {
    // In order: a question whose condition names a hidden question is hidden too.
    form.querySelectorAll(".field[data-show-if]").forEach(function (host) {
      var cond;
      try { cond = JSON.parse(host.dataset.showIf); } catch (e) { return; }
      var show = matches(cond, answers(form, cond.field));
      host.hidden = !show;
      host.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !show; });
    });
  }

  function init() {
    document.querySelectorAll("form.form-card").forEach(function (form) {
      if (!form.querySelector(".field[data-show-if]")) return;
      refresh(form);
      form.addEventListener("change", function () { refresh(form); });
      form.addEventListener("input", function () { refresh(form); });
      form.addEventListener("gridbase:form-value", function () { refresh(form); });  // editors.js pickers
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
