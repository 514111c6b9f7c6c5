// Vigil health page: polls /api/health and draws, per model, a layers x statistics heatmap per site kind and the
// layer x head attention-sink heatmap. Plain DOM, no dependencies: it is served from the server's jar.
(function () {
  'use strict';

  var API = '/api/health';
  var REFRESH_MS = 3000;

  // Colour stops: "risk" runs from healthy (pale green) to look-here (red); "intensity" from low to high (blue).
  var RISK = [[223, 241, 228], [251, 236, 181], [246, 181, 122], [224, 101, 92]];
  var INTENSITY = [[238, 241, 250], [180, 195, 238], [106, 134, 214], [34, 53, 127]];
  var SINK = [[246, 243, 251], [196, 178, 228], [120, 86, 188], [45, 20, 102]];

  function linear(lo, hi) {
    return function (v) { return (v - lo) / (hi - lo); };
  }
  function inverse(lo, hi) {
    return function (v) { return (hi - v) / (hi - lo); };
  }
  function log10(lo, hi) {
    return function (v) { return v <= 0 ? 0 : (Math.log10(v) - lo) / (hi - lo); };
  }
  function fixed(digits) {
    return function (v) { return v.toFixed(digits); };
  }
  function magnitude(v) {
    return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  }

  // Per statistic: column label, what it is (SPEC section 5), its colour scale and how the cell prints it.
  var STATS = {
    sink_heads_ratio: {label: 'sink heads', palette: INTENSITY, t: linear(0, 1), fmt: fixed(2),
      help: 'vigil_attention_sink_heads_ratio: fraction of heads whose sink score > epsilon. Scale 0 to 1.'},
    sink_score_mean: {label: 'sink score', palette: INTENSITY, t: linear(0, 1), fmt: fixed(2),
      help: 'Mean over heads of vigil_attention_sink_score: attention on the first unmasked key. Scale 0 to 1.'},
    entropy_mean: {label: 'entropy', palette: INTENSITY, t: linear(0, 1), fmt: fixed(2),
      help: 'Mean over heads of vigil_attention_entropy (normalized; 1 = uniform attention). Scale 0 to 1.'},
    dead_ratio: {label: 'dead', palette: RISK, t: linear(0, 0.5), fmt: fixed(3),
      help: 'vigil_neurons_dead_ratio: fraction of channels never > 0 in the window. Red at 0.5 and above.'},
    dormant_ratio: {label: 'dormant', palette: RISK, t: linear(0, 0.1), fmt: fixed(3),
      help: 'vigil_neurons_dormant_ratio: fraction of channels with tau-dormant score <= dormant_tau. '
        + 'Red at 0.1 and above.'},
    massive_ratio: {label: 'massive ratio', palette: INTENSITY, t: log10(1, 4), fmt: magnitude,
      help: 'vigil_massive_activation_ratio: max over sequences of max|h| / median|h|. Log scale 10 to 10000.'},
    token_cosine: {label: 'token cos', palette: RISK, t: linear(0.2, 1), fmt: fixed(2),
      help: 'vigil_token_cosine_similarity: mean pairwise cosine of token rows; near 1 = rank collapse. '
        + 'Green at 0.2 and below, red at 1.'},
    int8_sqnr_db: {label: 'int8 SQNR dB', palette: RISK, t: inverse(15, 40), fmt: fixed(1),
      help: 'vigil_quant_int8_sqnr_db{calibration="absmax"}: per-tensor int8 SQNR. '
        + 'Green at 40 dB and above, red at 15 dB and below.'},
    outlier_channels: {label: 'outliers', palette: RISK, t: linear(0, 8), fmt: fixed(0),
      help: 'vigil_quant_outlier_channels: channels whose window abs max > outlier_threshold. Red at 8 and above.'}
  };
  var SINK_STAT = {palette: SINK, t: linear(0, 1), fmt: fixed(2)};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined) {
      e.textContent = text;
    }
    return e;
  }

  function colour(palette, t) {
    var x = Math.min(1, Math.max(0, t)) * (palette.length - 1);
    var i = Math.min(palette.length - 2, Math.floor(x));
    var f = x - i;
    var a = palette[i], b = palette[i + 1];
    var rgb = [0, 1, 2].map(function (c) { return Math.round(a[c] + (b[c] - a[c]) * f); });
    return {css: 'rgb(' + rgb.join(',') + ')', dark: 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 140};
  }

  // One heatmap cell. value is the JSON value: a number, null (undefined) or "+Inf"/"-Inf".
  function cell(stat, value, attrs, title) {
    var td = el('td', attrs);
    td.classList.add('cell');
    if (value === null || value === undefined) {
      td.setAttribute('data-value', 'null');
      td.classList.add('na');
      td.textContent = '—';
      td.title = title + ': no value yet';
      return td;
    }
    var numeric = typeof value === 'number' ? value : (value === '-Inf' ? -Infinity : Infinity);
    td.setAttribute('data-value', String(value));
    td.textContent = isFinite(numeric) ? stat.fmt(numeric) : (numeric > 0 ? '∞' : '−∞');
    var c = colour(stat.palette, stat.t(numeric));
    td.style.background = c.css;
    if (c.dark) {
      td.classList.add('dark');
    }
    td.title = title + ': ' + String(value);
    return td;
  }

  function kindPanel(model, kind) {
    var panel = el('div', {'class': 'panel', 'data-kind': kind.kind});
    var h = el('h3', null, kind.kind);
    h.appendChild(el('span', {'class': 'n'}, kind.layers.length + (kind.layers.length === 1 ? ' layer' : ' layers')));
    panel.appendChild(h);
    var table = el('table', {'class': 'heat'});
    var head = el('tr');
    head.appendChild(el('th', null, 'layer'));
    kind.stats.forEach(function (s) {
      var def = STATS[s];
      head.appendChild(el('th', def ? {title: def.help} : null, def ? def.label : s));
    });
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    kind.layers.forEach(function (layer) {
      var tr = el('tr');
      tr.appendChild(el('th', {title: layer.tensor}, String(layer.layer)));
      kind.stats.forEach(function (s) {
        var def = STATS[s] || {palette: INTENSITY, t: linear(0, 1), fmt: String};
        tr.appendChild(cell(def, layer.values[s], {
          'data-model': model.name, 'data-kind': kind.kind, 'data-stat': s, 'data-layer': String(layer.layer)
        }, kind.kind + ' ' + layer.layer + ' (' + layer.tensor + ') ' + s));
      });
      body.appendChild(tr);
    });
    panel.appendChild(table);
    return panel;
  }

  function sinkPanel(model) {
    var sink = model.sink_scores;
    var panel = el('div', {'class': 'panel'});
    var h = el('h3', null, 'attention sink score');
    h.appendChild(el('span', {'class': 'n'}, 'layer × head, first unmasked key'));
    panel.appendChild(h);
    if (sink.heads === 0) {
      panel.appendChild(el('div', {'class': 'none'}, 'no attention probed yet'));
      return panel;
    }
    var table = el('table', {'class': 'heat sinkmap'});
    var head = el('tr');
    head.appendChild(el('th', null, 'layer'));
    for (var i = 0; i < sink.heads; i++) {
      head.appendChild(el('th', null, 'h' + i));
    }
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    sink.layers.forEach(function (layer) {
      var tr = el('tr');
      tr.appendChild(el('th', {title: layer.tensor}, String(layer.layer)));
      layer.heads.forEach(function (v, head) {
        tr.appendChild(cell(SINK_STAT, v, {
          'data-model': model.name, 'data-kind': 'attention', 'data-stat': 'sink_score',
          'data-layer': String(layer.layer), 'data-head': String(head)
        }, 'layer ' + layer.layer + ' head ' + head + ' sink score'));
      });
      body.appendChild(tr);
    });
    panel.appendChild(table);
    return panel;
  }

  function windowLine(model) {
    var w = model.window;
    var line = el('div', {'class': 'window', 'data-model': model.name, 'data-window-index': String(w.index),
      'data-window-closed': String(w.closed), 'data-window-tokens': String(w.tokens),
      'data-window-requests': String(w.requests)});
    line.appendChild(el('span', {'class': 'badge ' + (w.closed ? 'closed' : 'open')},
      w.closed ? 'window #' + w.index + ' closed' : 'window #' + w.index + ' open'));
    line.appendChild(document.createTextNode(' '));
    line.appendChild(el('b', null, w.tokens + ' tokens'));
    line.appendChild(document.createTextNode(' in ' + w.requests + (w.requests === 1 ? ' request' : ' requests')
      + ' (window size ' + model.window_tokens
      + ') · open window ' + model.open_window_tokens + ' tokens · ' + model.probed_requests
      + (model.probed_requests === 1 ? ' probed request' : ' probed requests') + ' since start'));
    return line;
  }

  function modelSection(model) {
    var section = el('section', {'class': 'model', 'data-model': model.name});
    var header = el('header');
    header.appendChild(el('h2', null, model.name));
    header.appendChild(windowLine(model));
    section.appendChild(header);
    var panels = el('div', {'class': 'panels'});
    model.kinds.forEach(function (kind) {
      panels.appendChild(kindPanel(model, kind));
      if (kind.kind === 'attention' && model.sink_scores.layers.length > 0) {
        panels.appendChild(sinkPanel(model));
      }
    });
    if (model.kinds.length === 0) {
      panels.appendChild(el('div', {'class': 'empty'}, 'No probe site selected.'));
    }
    section.appendChild(panels);
    return section;
  }

  var shown = null;
  var polls = 0;

  function render(view) {
    // redraw only when a value changed, so that an open tooltip or a text selection survives a refresh
    var models = JSON.stringify(view.models);
    if (models !== shown) {
      shown = models;
      var fresh = document.createDocumentFragment();
      view.models.forEach(function (m) { fresh.appendChild(modelSection(m)); });
      if (view.models.length === 0) {
        fresh.appendChild(el('div', {'class': 'empty'}, 'No probed model: probing is disabled for every model.'));
      }
      document.getElementById('models').replaceChildren(fresh);
    }
    var status = document.getElementById('status');
    status.className = 'status';
    polls++;
    status.setAttribute('data-polls', String(polls));
    status.setAttribute('data-generated-at', view.generated_at);
    status.textContent = 'updated ' + new Date(view.generated_at).toLocaleTimeString() + ' · refresh every '
      + REFRESH_MS / 1000 + ' s';
  }

  function refresh() {
    fetch(API, {cache: 'no-store'})
      .then(function (r) {
        if (!r.ok) {
          throw new Error('HTTP ' + r.status);
        }
        return r.json();
      })
      .then(render)
      .catch(function (e) {
        // keep the last good view on screen; say that it is stale
        var status = document.getElementById('status');
        status.className = 'status error';
        status.textContent = 'cannot reach ' + API + ' (' + e.message + '); showing the last values';
      });
  }

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
