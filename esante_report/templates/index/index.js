// The readers' index: search as one types and "Ma région", from the index inlined in the page (no network).
(function () {
  'use strict';
  var tools = document.querySelector('.idx-tools');
  var query = document.getElementById('idx-q');
  var select = document.getElementById('idx-region');
  var status = document.getElementById('idx-status');
  var none = document.getElementById('idx-none');
  var source = document.getElementById('idx-search');
  if (!tools || !query || !select || !status || !source) return;
  var texts = JSON.parse(source.textContent);
  var decks = Array.prototype.slice.call(document.querySelectorAll('.idx-deck'));
  var KEY = 'esante-report.region';

  // lower case, no accents, plain apostrophes: as the page's index was folded when it was written
  function fold(text) {
    return text.replace(/\u2019/g, "'").normalize('NFD').replace(/\p{Mn}/gu, '').toLowerCase();
  }

  function known(region) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === region; });
  }

  function fromHash() {
    var match = /(?:^#|&)region=([A-Za-z]{0,4})(?:&|$)/.exec(window.location.hash);
    return match && known(match[1].toUpperCase()) ? match[1].toUpperCase() : null;
  }

  function remember(region) {
    try { window.localStorage.setItem(KEY, region); } catch (e) { /* storage refused: not remembered */ }
  }

  function remembered() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function showIf(element, visible) {
    if (element) element.hidden = !visible;
  }

  function apply() {
    var region = select.value;
    var words = fold(query.value).split(/\s+/).filter(Boolean);
    var shown = 0;
    decks.forEach(function (deck) {
      var inRegion = !region || !deck.dataset.region || deck.dataset.region === region;
      var text = texts[deck.id] || '';
      var visible = inRegion && words.every(function (w) { return text.indexOf(w) !== -1; });
      deck.hidden = !visible;
      if (visible) shown += 1;
    });
    document.querySelectorAll('.idx-family, .idx-national, .idx-date').forEach(function (group) {
      showIf(group, group.querySelector('.idx-deck:not([hidden])') !== null);
    });
    showIf(none, shown === 0);
    var name = region ? select.options[select.selectedIndex].text : '';
    status.textContent = (shown === decks.length ? 'Toutes les présentations sont affichées (' + shown + ').'
      : shown + ' présentation' + (shown > 1 ? 's' : '') + ' affichée' + (shown > 1 ? 's' : '') + ' sur '
        + decks.length + (name ? ', région ' + name + ' et présentations nationales' : '') + '.');
  }

  function setHash(region) {
    var base = window.location.href.split('#')[0];
    try {
      window.history.replaceState(null, '', region ? base + '#region=' + region : base);
    } catch (e) {
      window.location.hash = region ? 'region=' + region : '';
    }
  }

  tools.hidden = false;
  var start = fromHash();
  if (start === null) {
    var stored = remembered();
    start = stored && known(stored) ? stored : '';
    if (start) setHash(start);
  }
  select.value = start;
  apply();

  query.addEventListener('input', apply);
  select.addEventListener('change', function () {
    remember(select.value);
    setHash(select.value);
    apply();
  });
  window.addEventListener('hashchange', function () {
    var region = fromHash();
    select.value = region === null ? '' : region;
    apply();
  });
}());
