// Small progressive enhancements; every page works without JavaScript.
(function () {
  // Highlight the current section in the navigation.
  var path = window.location.pathname;
  document.querySelectorAll('.mainnav a').forEach(function (a) {
    if (path.indexOf(a.getAttribute('href')) === 0) a.classList.add('active');
  });
  // A failed post rendered at a URL that only takes posts: show the form's own page in the address bar,
  // so a reload opens that page instead of posting again (core.middleware.FormPostRedirectMiddleware).
  var formPage = document.querySelector('meta[name="form-page"]');
  if (formPage && window.history.replaceState) window.history.replaceState(null, '', formPage.content + window.location.hash);
  // Pages showing running jobs refresh themselves until the work is done.
  var refresh = document.querySelector('[data-autorefresh]');
  if (refresh) setTimeout(function () { window.location.reload(); }, parseInt(refresh.dataset.autorefresh, 10) || 3000);
  // Disclosures open on wide screens and folded on a phone (the order queue's filters and bulk bar); the
  // summary's aria-expanded follows the state for assistive technology that does not read <details>.
  document.querySelectorAll('details[data-open-wide]').forEach(function (details) {
    var summary = details.querySelector('summary');
    var sync = function () { if (summary) summary.setAttribute('aria-expanded', details.open ? 'true' : 'false'); };
    if (window.matchMedia('(min-width: 721px)').matches) details.open = true;
    details.addEventListener('toggle', sync);
    sync();
  });
  // A select that re-sorts a list applies on change (its form's button does it without JavaScript).
  document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
    select.addEventListener('change', function () { select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit(); });
  });
  // "Select all" checkboxes for bulk actions.
  document.querySelectorAll('[data-select-all]').forEach(function (box) {
    box.addEventListener('change', function () {
      document.querySelectorAll(box.dataset.selectAll).forEach(function (c) { c.checked = box.checked; });
    });
  });
  // Forms that ask first (replaying webhook events): data-confirm="question".
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (e) { if (!window.confirm(form.dataset.confirm)) e.preventDefault(); });
  });
  // Forms that must be sent once (buying a label, a batch): a second press while the first is on its way
  // is ignored; the server buys once anyway.
  document.querySelectorAll('form[data-once]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      if (form.dataset.sent) { e.preventDefault(); return; }
      form.dataset.sent = '1';
      form.setAttribute('aria-busy', 'true');
    });
  });
  // Copy buttons (API tokens).
  document.querySelectorAll('[data-copy]').forEach(function (btn) {
    btn.addEventListener('click', function () {
      var el = document.querySelector(btn.dataset.copy);
      if (el && navigator.clipboard) navigator.clipboard.writeText(el.textContent.trim()).then(function () { btn.textContent = 'Copied'; });
    });
  });
  // Sign-up's time zone starts at the browser's own zone (the server's default stands without JavaScript,
  // and a choice the server sent back with an error is kept).
  document.querySelectorAll('select[data-browser-zone]:not([data-chosen])').forEach(function (select) {
    var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && select.querySelector('option[value="' + zone + '"]')) select.value = zone;
  });
  // "Go back" links (the busy page): the browser's Back, so a form keeps what was typed; the dashboard without JS.
  document.querySelectorAll('a[data-back]').forEach(function (a) {
    a.addEventListener('click', function (e) { if (window.history.length > 1) { e.preventDefault(); window.history.back(); } });
  });
})();
