// The admin's periodic task form (django-celery-beat): under the crontab field, its schedule in words.
// Moved out of the package's inline script (CSP); the help text comes from the script tag's data attribute.
(function () {
  var script = document.currentScript;
  var $ = window.django && window.django.jQuery;
  var data = document.getElementById('readable-crontabs');
  if (!$ || !script || !data) return;
  var readable = JSON.parse(data.textContent);
  var help = script.dataset.crontabHelp || '';
  $('.field-crontab_translation').hide();
  $('.field-crontab').change(function () {
    var box = $('.field-crontab .help').empty().text(help);
    var words = readable[$('#id_crontab').val()];
    if (words) box.append('<br>').append(document.createTextNode('Translation: ' + words));
  });
})();
