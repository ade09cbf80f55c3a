// The manual order page: add and remove lines, fill in the picked product's price (sku_picker.js searches), and show
// which address fields the chosen country needs. Progressive: without it the page still works ("Add a
// line" posts the form back with a row more; the server checks every line and the address).
(function () {
  var form = document.querySelector('[data-manual-order]');
  if (!form) return;
  var total = form.querySelector('input[name="form-TOTAL_FORMS"]');
  var lines = form.querySelector('[data-lines]');
  var template = document.getElementById('line-template');
  var known = {};  // lower-case SKU → {sku, title, price, available}

  function enhance(row) {
    var box = row.querySelector('[data-delete-box]');
    var button = row.querySelector('[data-remove-line]');
    if (box && button) { box.hidden = true; button.hidden = false; }
  }
  lines.querySelectorAll('tr').forEach(enhance);

  form.querySelector('[data-add-line]').addEventListener('click', function (event) {
    event.preventDefault();
    var index = parseInt(total.value, 10);
    lines.insertAdjacentHTML('beforeend', template.innerHTML.replace(/__prefix__/g, String(index)));
    total.value = String(index + 1);
    var row = lines.lastElementChild;
    enhance(row);
    row.querySelector('[data-sku-search]').focus();
  });

  lines.addEventListener('click', function (event) {
    var button = event.target.closest('[data-remove-line]');
    if (!button) return;
    var row = button.closest('tr');
    var visible = Array.prototype.filter.call(lines.querySelectorAll('tr'), function (r) { return !r.hidden; });
    if (visible.length <= 1) return;  // an order keeps at least one line
    var del = row.querySelector('input[name$="-DELETE"]');
    if (del) del.checked = true;
    row.hidden = true;
  });

  function fill(input) {
    var product = known[input.value.trim().toLowerCase()];
    var row = input.closest('tr');
    var hint = row.querySelector('[data-line-hint]');
    if (!product) { if (hint) hint.textContent = ''; return; }
    var price = row.querySelector('input[name$="-unit_price"]');
    if (price && product.price && (!price.value || price.dataset.filled === 'auto')) {
      price.value = product.price;
      price.dataset.filled = 'auto';
    }
    if (hint) hint.textContent = product.title + ' · ' + product.available + ' available';
  }

  // The SKU picker (sku_picker.js) says which product was chosen: fill in its price and stock.
  lines.addEventListener('sku-picked', function (event) {
    known[event.detail.sku.toLowerCase()] = event.detail;
    fill(event.target);
  });
  lines.addEventListener('sku-results', function (event) {
    event.detail.forEach(function (p) { known[p.sku.toLowerCase()] = p; });
    fill(event.target);
  });
  lines.addEventListener('input', function (event) {
    var input = event.target;
    if (input.matches('input[name$="-unit_price"]')) { input.dataset.filled = 'typed'; return; }
    if (input.matches('[data-sku-search]')) fill(input);
  });

  // A country with a list of regions gets a select of them, any other a text box: the one element is swapped,
  // keeping its name and id (its label points at it) and its value when the new list has it.
  function regionField(regions) {
    var current = form.querySelector('[name="address-region"]');
    var wantSelect = regions.length > 0;
    var next;
    if (wantSelect) {
      next = document.createElement('select');
      next.appendChild(new Option('Choose…', ''));
      regions.forEach(function (r) { next.appendChild(new Option(r[1], r[0])); });
      var value = (current.value || '').trim();
      var match = regions.filter(function (r) {
        return r[0].toUpperCase() === value.toUpperCase() || r[1].toLowerCase() === value.toLowerCase();
      })[0];
      next.value = match ? match[0] : '';
    } else if (current.tagName === 'SELECT') {
      next = document.createElement('input');
      next.type = 'text';
      next.value = '';
    } else {
      return current;
    }
    ['name', 'id', 'maxlength'].forEach(function (a) { if (current.hasAttribute(a)) next.setAttribute(a, current.getAttribute(a)); });
    current.replaceWith(next);
    return next;
  }

  // Which address fields the country needs, and what they are called there.
  var rules = JSON.parse((document.getElementById('address-rules') || {}).textContent || '{}');
  var country = form.querySelector('select[name="address-country"]');
  function applyCountry() {
    var rule = rules[country.value] || {required: [], region: 'State / province / region', postcode: 'Postcode / ZIP', example: '', regions: []};
    var region = regionField(rule.regions || []);
    var postcode = form.querySelector('input[name="address-postal_code"]');
    form.querySelector('[data-label="region"]').textContent = rule.region;
    form.querySelector('[data-label="postcode"]').textContent = rule.postcode;
    // Screen readers hear the same name as the visible label (the form renderer set an aria-label).
    region.setAttribute('aria-label', rule.region);
    postcode.setAttribute('aria-label', rule.postcode);
    region.required = rule.required.indexOf('region') >= 0;
    postcode.required = rule.required.indexOf('postcode') >= 0;
    postcode.placeholder = rule.example || '';
  }
  if (country) { country.addEventListener('change', applyCountry); applyCountry(); }

  // A customer picked by e-mail (sku_picker.js's type-ahead over /orders/customers.json): their name, and the
  // address of their last order when no address is typed yet.
  var email = form.querySelector('input[name="customer_email"]');
  if (email) email.addEventListener('picked', function (event) {
    var c = event.detail, a = c.address || {};
    var name = form.querySelector('input[name="customer_name"]');
    if (name && !name.value.trim()) name.value = c.name || '';
    var typed = ['line1', 'city', 'postal_code'].some(function (k) {
      var f = form.querySelector('[name="address-' + k + '"]');
      return f && f.value.trim();
    });
    if (typed) return;
    if (country && a.country) { country.value = a.country; applyCountry(); }
    ['name', 'company', 'line1', 'line2', 'city', 'region', 'postal_code', 'phone'].forEach(function (k) {
      var f = form.querySelector('[name="address-' + k + '"]');
      if (f && a[k]) f.value = a[k];
    });
  });
})();
