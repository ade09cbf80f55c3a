// The SKU picker: any <input data-sku-picker> becomes a type-ahead over the signed-in merchant's products
// (SKU and title, from /inventory/products.json), following the ARIA combobox pattern: Down and Up move
// through the suggestions, Enter takes one, Escape closes the list, the mouse works too. Without this
// script the input is a plain text box and the server checks the SKU typed, as it always does.
// On a choice the input gets the SKU and fires "input", "change" and "sku-picked" (detail: the product:
// sku, title, price, available), which the manual order page uses to fill in the price; each answer also
// fires "sku-results" (detail: the products), so a SKU typed in full is recognised without picking.
// The same type-ahead serves any other list: <input data-picker-url="/orders/customers.json"> asks that URL,
// whose results carry `value` (what the input takes) and `help` (shown beside it); a choice fires "picked"
// (detail: the result), as the manual order's customer e-mail uses it.
(function () {
  var script = document.currentScript;
  var skuUrl = script && script.dataset.url;
  var seq = 0;
  var SELECTOR = 'input[data-sku-picker], input[data-picker-url]';

  function enhance(input) {
    if (input.dataset.skuPickerReady) return;
    var isSku = !input.dataset.pickerUrl;
    var url = isSku ? skuUrl : input.dataset.pickerUrl;
    if (!url) return;
    input.dataset.skuPickerReady = '1';
    seq += 1;
    var list = document.createElement('ul');
    list.id = (input.id || 'sku-picker-' + seq) + '-options';
    list.className = 'sku-picker-list';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', isSku ? 'Matching products' : 'Matches');
    list.hidden = true;
    document.body.appendChild(list);  // outside any scrolling table, placed under the input
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('autocomplete', 'off');
    input.removeAttribute('list');

    var results = [], active = -1, timer = null, asked = 0;

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
    }
    function place() {
      var box = input.getBoundingClientRect();
      list.style.left = (box.left + window.scrollX) + 'px';
      list.style.top = (box.bottom + window.scrollY) + 'px';
      list.style.minWidth = box.width + 'px';
      list.style.maxWidth = Math.max(box.width, document.documentElement.clientWidth - box.left - 8) + 'px';
    }
    function mark(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute('aria-selected', i === index ? 'true' : 'false');
      });
      if (index >= 0) {
        var li = list.children[index];
        input.setAttribute('aria-activedescendant', li.id);
        li.scrollIntoView({block: 'nearest'});
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }
    function show(rows) {
      results = rows;
      list.innerHTML = '';
      if (!rows.length) { close(); return; }
      rows.forEach(function (p, i) {
        var li = document.createElement('li');
        li.id = list.id + '-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        var sku = document.createElement('span');
        sku.className = isSku ? 'mono' : '';
        sku.textContent = isSku ? p.sku : p.value;
        var rest = document.createElement('span');
        rest.className = 'help';
        rest.textContent = isSku ? ' ' + p.title + ' · ' + p.available + ' available' : (p.help ? ' ' + p.help : '');
        li.appendChild(sku);
        li.appendChild(rest);
        list.appendChild(li);
      });
      place();
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      mark(-1);
    }
    function choose(index) {
      var product = results[index];
      if (!product) return;
      input.value = isSku ? product.sku : product.value;
      close();
      input.dispatchEvent(new CustomEvent(isSku ? 'sku-picked' : 'picked', {bubbles: true, detail: product}));
      input.dispatchEvent(new Event('change', {bubbles: true}));
    }
    function search() {
      var q = input.value.trim();
      if (!q) { close(); return; }
      var mine = ++asked;
      fetch(url + '?limit=8&q=' + encodeURIComponent(q), {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) {
          if (mine !== asked || document.activeElement !== input) return;
          show(data.results);
          if (isSku) input.dispatchEvent(new CustomEvent('sku-results', {bubbles: true, detail: data.results}));
        })
        .catch(function () {});
    }

    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener('keydown', function (event) {
      var open = !list.hidden;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        if (!open) { search(); return; }
        var n = results.length, step = event.key === 'ArrowDown' ? 1 : -1;
        mark(active < 0 ? (step > 0 ? 0 : n - 1) : (active + step + n) % n);
      } else if (event.key === 'Enter') {
        if (open && active >= 0) { event.preventDefault(); choose(active); }
      } else if (event.key === 'Escape') {
        if (open) { event.preventDefault(); close(); }
      } else if (event.key === 'Tab') {
        close();
      }
    });
    input.addEventListener('blur', function () { setTimeout(close, 150); });
    window.addEventListener('resize', function () { if (!list.hidden) place(); });
    document.addEventListener('scroll', function () { if (!list.hidden) place(); }, true);
    list.addEventListener('mousedown', function (event) { event.preventDefault(); });  // keep the focus
    list.addEventListener('click', function (event) {
      var li = event.target.closest('[role=option]');
      if (li) choose(Array.prototype.indexOf.call(list.children, li));
    });
  }

  document.querySelectorAll(SELECTOR).forEach(enhance);
  // Inputs added later (the manual order's "Add a line") are enhanced when they first get the focus.
  document.addEventListener('focusin', function (event) {
    if (event.target.matches && event.target.matches(SELECTOR)) enhance(event.target);
  });
})();
