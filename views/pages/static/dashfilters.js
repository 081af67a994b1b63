/* Dashboard filters (views/pages/dashboards_filters.py): a changed choice applies at once (the form is a
   plain GET form, so the link keeps the choice); a date filter's from/to days show only for "custom". */
(function () {
  'use strict';
  function sync(filter) {
    var select = filter.querySelector('select');
    var range = filter.querySelector('.dash-range');
    if (!select || !range) return;
    range.hidden = select.value !== 'custom';
    // Hidden days are not sent: the link keeps only what was chosen.
    var days = range.querySelectorAll('input');
    for (var i = 0; i < days.length; i++) days[i].disabled = range.hidden;
  }
  function init() {
    var form = document.querySelector('form.dash-filters');
    if (!form) return;
    var filters = form.querySelectorAll('.dash-filter');
    for (var i = 0; i < filters.length; i++) sync(filters[i]);
    form.addEventListener('change', function (event) {
      var filter = event.target.closest('.dash-filter');
      if (!filter) return;
      sync(filter);
      if (event.target.tagName === 'SELECT' && event.target.value === 'custom') {
        var from = filter.querySelector('input[type="date"]');
        if (from) from.focus();
        return;
      }
      if (event.target.tagName === 'INPUT') {
        var days = filter.querySelectorAll('input[type="date"]');
        for (var j = 0; j < days.length; j++) if (!days[j].value) return;
      }
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
