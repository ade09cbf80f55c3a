// The adjust form's reason follows the sign of the quantity until someone picks one (the server does the same
// when the reason is left blank): units coming in were received, units going out are a correction.
(function () {
  var form = document.getElementById('adjust');
  if (!form) return;
  var qty = form.querySelector('[name=quantity]'), reason = form.querySelector('[name=reason]');
  if (!qty || !reason) return;
  var chosen = false;
  reason.addEventListener('change', function () { chosen = true; });
  qty.addEventListener('input', function () {
    var n = parseInt(qty.value, 10);
    if (chosen || isNaN(n) || n === 0) return;
    reason.value = n > 0 ? 'received' : 'correction';
  });
})();
