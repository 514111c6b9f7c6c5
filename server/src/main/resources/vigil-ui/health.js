// Vigil health page: polls /api/health and draws a summary (models ranked by what needs attention), then per model
// a collapsible section with a heatmap per site kind (rows named by block and tensor, cells coloured by health) and
// the layer x head sink-score heatmap; and the attention picture of one request (POST infer with inspect_attention),
// of a text or of token ids.
// Plain DOM, no dependencies: it is served from the server's jar.
(function () {
  'use strict';

  var API = '/api/health';
  var REFRESH_MS = 3000;

  // "Magnitude" scales for values with no healthy direction; health levels have fixed colours (health.css).
  var INTENSITY = [[238, 241, 250], [180, 195, 238], [106, 134, 214], [34, 53, 127]];
  var SINK = [[246, 243, 251], [196, 178, 228], [120, 86, 188], [45, 20, 102]];

  function linear(lo, hi) {
    return function (v) { return (v - lo) / (hi - lo); };
  }
  function log10(lo, hi) {
    return function (v) { return v <= 0 ? 0 : (Math.log10(v) - lo) / (hi - lo); };
  }
  function fixed(digits) {
    return function (v) { return v.toFixed(digits); };
  }
  function magnitude(v) {
    return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1);
  }

  // Per statistic: column label, what it is and when it is coloured as a problem, its magnitude scale (for values
  // without a healthy direction) and how the cell prints it.
  var STATS = {
    sink_heads_ratio: {label: 'sink heads', t: linear(0, 1), fmt: fixed(2),
      help: 'vigil_attention_sink_heads_ratio: fraction of heads whose sink score > epsilon. Its alert compares '
        + 'with the last hour, so one window shows magnitude only.'},
    sink_score_mean: {label: 'sink score', t: linear(0, 1), fmt: fixed(2),
      help: 'Mean over heads of vigil_attention_sink_score: attention on the first unmasked key. Magnitude only.'},
    entropy_mean: {label: 'entropy', t: linear(0, 1), fmt: fixed(2),
      help: 'Mean over heads of vigil_attention_entropy (normalized; 1 = uniform attention). Magnitude only.'},
    dead_ratio: {label: 'dead', t: linear(0, 1), fmt: fixed(3),
      help: 'vigil_neurons_dead_ratio: fraction of channels never > 0 in the window. Warning at 0.5 and above.'},
    dormant_ratio: {label: 'dormant', t: linear(0, 0.1), fmt: fixed(3),
      help: 'vigil_neurons_dormant_ratio: fraction of channels with tau-dormant score <= dormant_tau. '
        + 'Warning at 0.05 and above.'},
    massive_ratio: {label: 'massive ratio', t: log10(1, 4), fmt: magnitude,
      help: 'vigil_massive_activation_ratio: max over sequences of max|h| / median|h|. Alarm when the window has '
        + 'massive elements (VigilMassiveActivationAppeared); warning above massive.median_ratio without one.'},
    token_cosine: {label: 'token cos', t: linear(0, 1), fmt: fixed(2),
      help: 'vigil_token_cosine_similarity: mean pairwise cosine of token rows; warning at 0.9 and above '
        + '(rank collapse).'},
    int8_sqnr_db: {label: 'int8 SQNR dB', t: linear(0, 50), fmt: fixed(1),
      help: 'vigil_quant_int8_sqnr_db{calibration="absmax"}: per-tensor int8 SQNR. Alarm below 20 dB on '
        + 'matmul_input sites (VigilInt8SqnrLow); magnitude only elsewhere.'},
    outlier_channels: {label: 'outliers', t: linear(0, 8), fmt: fixed(0),
      help: 'vigil_quant_outlier_channels: channels whose window abs max > outlier_threshold. Alarm above 0 on '
        + 'matmul_input sites (VigilInt8OutlierChannels); magnitude only elsewhere.'}
  };
  var SINK_STAT = {t: linear(0, 1), fmt: fixed(2)};
  var SPIKE = 5;
  // Maps of more tokens than this are drawn as an image (a table cell per probability gets slow past a few thousand),
  // about MAP_PX pixels on a side.
  var TABLE_TOKENS = 64;
  var MAP_PX = 512;
  var LEVEL_TEXT = {alarm: 'alarm', warn: 'warning', ok: 'healthy', info: 'no healthy direction', none: 'no value'};

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
    return {rgb: rgb, css: 'rgb(' + rgb.join(',') + ')', dark: 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 140};
  }

  function numeric(value) {
    return typeof value === 'number' ? value : (value === '-Inf' ? -Infinity : Infinity);
  }

  function printed(stat, value) {
    var v = numeric(value);
    return isFinite(v) ? stat.fmt(v) : (v > 0 ? '∞' : '−∞');
  }

  // One heatmap cell. value is the JSON value: a number, null (undefined) or "+Inf"/"-Inf"; level its health level
  // (alarm, warn, ok: fixed colours; info: magnitude on the palette; none: hatched).
  function cell(stat, value, level, palette, attrs, title) {
    var td = el('td', attrs);
    td.classList.add('cell');
    if (value === null || value === undefined) {
      td.setAttribute('data-value', 'null');
      td.setAttribute('data-health', 'none');
      td.classList.add('na');
      td.textContent = '—';
      td.title = title + ': no value yet';
      return td;
    }
    td.setAttribute('data-value', String(value));
    td.setAttribute('data-health', level);
    td.classList.add('lvl-' + level);
    td.textContent = printed(stat, value);
    if (level === 'info') {
      var c = colour(palette, stat.t(numeric(value)));
      td.style.background = c.css;
      if (c.dark) {
        td.classList.add('dark');
      }
    }
    td.title = title + ': ' + String(value) + ' (' + LEVEL_TEXT[level] + ')';
    return td;
  }

  function rowHeader(layer) {
    var th = el('th', {title: layer.tensor + ' (layer ' + layer.layer + ')', 'class': 'site',
      'data-layer': String(layer.layer)}, layer.name);
    return th;
  }

  function kindPanel(model, kind) {
    var panel = el('div', {'class': 'panel', 'data-kind': kind.kind});
    var h = el('h3', null, kind.kind);
    h.appendChild(el('span', {'class': 'n'}, kind.layers.length + (kind.layers.length === 1 ? ' site' : ' sites')));
    panel.appendChild(h);
    var table = el('table', {'class': 'heat'});
    var head = el('tr');
    head.appendChild(el('th', null, 'site'));
    kind.stats.forEach(function (s) {
      var def = STATS[s];
      head.appendChild(el('th', def ? {title: def.help} : null, def ? def.label : s));
    });
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    kind.layers.forEach(function (layer) {
      var tr = el('tr');
      tr.appendChild(rowHeader(layer));
      kind.stats.forEach(function (s) {
        var def = STATS[s] || {t: linear(0, 1), fmt: String};
        tr.appendChild(cell(def, layer.values[s], layer.health[s], INTENSITY, {
          'data-model': model.name, 'data-kind': kind.kind, 'data-stat': s, 'data-layer': String(layer.layer)
        }, layer.name + ' · ' + (def.label || s)));
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
    h.appendChild(el('span', {'class': 'n'}, 'site × head, first unmasked key'));
    panel.appendChild(h);
    if (sink.heads === 0) {
      panel.appendChild(el('div', {'class': 'none'}, 'no attention probed yet'));
      return panel;
    }
    var table = el('table', {'class': 'heat sinkmap'});
    var head = el('tr');
    head.appendChild(el('th', null, 'site'));
    for (var i = 0; i < sink.heads; i++) {
      head.appendChild(el('th', null, 'h' + i));
    }
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    sink.layers.forEach(function (layer) {
      var tr = el('tr');
      tr.appendChild(rowHeader(layer));
      layer.heads.forEach(function (v, head) {
        tr.appendChild(cell(SINK_STAT, v, 'info', SINK, {
          'data-model': model.name, 'data-kind': 'attention', 'data-stat': 'sink_score',
          'data-layer': String(layer.layer), 'data-head': String(head)
        }, layer.name + ' head ' + head + ' sink score'));
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

  function counts(model) {
    var span = el('span', {'class': 'counts'});
    if (model.alarms > 0) {
      span.appendChild(el('span', {'class': 'badge alarm'}, model.alarms + (model.alarms === 1 ? ' alarm' : ' alarms')));
    }
    if (model.warnings > 0) {
      span.appendChild(el('span', {'class': 'badge warn'},
        model.warnings + (model.warnings === 1 ? ' warning' : ' warnings')));
    }
    if (model.alarms === 0 && model.warnings === 0) {
      span.appendChild(el('span', {'class': 'badge ok'}, model.probed_requests > 0 ? 'healthy' : 'no traffic yet'));
    }
    return span;
  }

  function findingText(f) {
    var def = STATS[f.stat];
    return (def ? def.label : f.stat) + ' ' + (f.value === null ? '—' : printed(def || {fmt: String}, f.value))
      + ' at ' + f.name;
  }

  var open = {};

  function fixed4(v) {
    return v === null || v === undefined ? '—' : v.toFixed(4);
  }

  // The last GET /quantized/report of the model: the sites to keep float for its target, and the sites ranked by
  // their share of the int8 output error.
  function quantPanel(model) {
    var a = model.quant_advice;
    var panel = el('div', {'class': 'panel quant-advice', 'data-model': model.name});
    var h = el('h3', null, 'int8 advice');
    panel.appendChild(h);
    var report = '/v2/models/' + encodeURIComponent(model.name) + '/quantized/report';
    if (!a) {
      h.appendChild(el('span', {'class': 'n'}, 'which sites to keep float'));
      panel.appendChild(el('div', {'class': 'none'}, 'No report yet: GET ' + report + '?target_cosine=0.995 '
        + 'measures it on recorded requests, off the request path.'));
      return panel;
    }
    var adv = a.advice;
    h.appendChild(el('span', {'class': 'n'}, 'target cosine ' + a.target_cosine + ' · ' + a.calibration
      + ' · window ' + a.window + ' · ' + a.recorded_requests + ' recorded requests'));
    var line = el('div', {'class': 'quant-line', 'data-keep': String(adv.keep_fp32.length),
      'data-reached': String(adv.reached), 'data-measured': String(adv.measured.cosine_mean)});
    line.textContent = 'Keep ' + adv.keep_fp32.length + ' of ' + a.sites + ' sites float: cosine '
      + fixed4(adv.measured.cosine_mean) + ' (worst ' + fixed4(adv.measured.cosine_worst) + '), all int8 '
      + fixed4(a.all_int8.cosine_mean) + (adv.reached ? '' : ' — the target is not reached');
    panel.appendChild(line);
    var table = el('table', {'class': 'quant-sites'});
    var head = el('tr');
    ['rank', 'site', 'error share', 'cosine alone int8', ''].forEach(function (t) { head.appendChild(el('th', null, t)); });
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    var listed = {};
    a.keep.concat(a.top_sites).forEach(function (s) {
      if (listed[s.tensor]) {
        return;
      }
      listed[s.tensor] = true;
      var kept = adv.keep_fp32.indexOf(s.tensor) >= 0;
      var tr = el('tr', {'class': 'quant-site' + (kept ? ' kept' : ''), 'data-tensor': s.tensor,
        'data-kept': String(kept), 'data-rank': String(s.rank)});
      tr.appendChild(el('td', null, String(s.rank)));
      tr.appendChild(el('td', {title: s.tensor}, s.name || s.tensor));
      tr.appendChild(el('td', null, s.error_share === null ? '—' : (100 * s.error_share).toFixed(1) + ' %'));
      tr.appendChild(el('td', null, fixed4(s.cosine_mean_alone)));
      tr.appendChild(el('td', null, kept ? 'keep float' : ''));
      body.appendChild(tr);
    });
    panel.appendChild(table);
    var cost = a.cost;
    panel.appendChild(el('div', {'class': 'note'}, 'Cost: sweep ' + cost.sweep.runs + ' runs, ' + cost.sweep.ms
      + ' ms; advice ' + cost.advice.runs + ' runs, ' + cost.advice.ms + ' ms. '));
    var links = panel.lastChild;
    links.appendChild(el('a', {href: report + '?target_cosine=' + a.target_cosine + '&calibration=' + a.calibration},
      'report JSON'));
    links.appendChild(document.createTextNode(' · '));
    links.appendChild(el('a', {href: adv.quantized}, 'int8 model'));
    return panel;
  }

  function modelSection(model) {
    var section = el('details', {'class': 'model', 'data-model': model.name, id: 'model-' + model.name});
    if (open[model.name]) {
      section.open = true;
    }
    section.addEventListener('toggle', function () { open[model.name] = section.open; });
    var header = el('summary');
    header.appendChild(el('h2', null, model.name));
    header.appendChild(counts(model));
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
    panels.appendChild(quantPanel(model));
    section.appendChild(panels);
    return section;
  }

  function summary(view) {
    var byName = {};
    view.models.forEach(function (m) { byName[m.name] = m; });
    var box = el('section', {'class': 'summary', id: 'summary'});
    box.appendChild(el('h2', null, 'What needs attention'));
    var table = el('table', {'class': 'ranking'});
    var head = el('tr');
    ['model', 'status', 'first findings'].forEach(function (h) { head.appendChild(el('th', null, h)); });
    table.appendChild(el('thead')).appendChild(head);
    var body = table.appendChild(el('tbody'));
    view.ranking.forEach(function (name, rank) {
      var m = byName[name];
      var tr = el('tr', {'data-model': name, 'data-rank': String(rank), 'data-alarms': String(m.alarms),
        'data-warnings': String(m.warnings)});
      var link = el('a', {href: '#model-' + name}, name);
      link.addEventListener('click', function () {
        open[name] = true;
        var s = document.getElementById('model-' + name);
        if (s) {
          s.open = true;
        }
      });
      tr.appendChild(el('td', {'class': 'name'})).appendChild(link);
      tr.appendChild(el('td')).appendChild(counts(m));
      var list = el('td', {'class': 'findings'});
      m.findings.slice(0, 3).forEach(function (f) {
        list.appendChild(el('span', {'class': 'finding lvl-' + f.level}, findingText(f)));
      });
      if (m.findings.length > 3) {
        list.appendChild(el('span', {'class': 'more'}, '+' + (m.findings.length - 3) + ' more'));
      }
      tr.appendChild(list);
      body.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  var shown = null;
  var polls = 0;
  var models = [];

  function render(view) {
    // redraw only when a value changed, so that an open tooltip or a text selection survives a refresh
    var json = JSON.stringify([view.models, view.ranking]);
    if (json !== shown) {
      shown = json;
      models = view.models;
      document.getElementById('overview').replaceChildren(view.models.length > 0 ? summary(view) : '');
      var fresh = document.createDocumentFragment();
      view.models.forEach(function (m) { fresh.appendChild(modelSection(m)); });
      if (view.models.length === 0) {
        fresh.appendChild(el('div', {'class': 'empty'}, 'No probed model: probing is disabled for every model.'));
      }
      document.getElementById('models').replaceChildren(fresh);
      inspector.models(view.models);
    }
    var status = document.getElementById('status');
    status.className = 'status';
    polls++;
    status.setAttribute('data-polls', String(polls));
    status.setAttribute('data-generated-at', view.generated_at);
    status.textContent = 'updated ' + new Date(view.generated_at).toLocaleTimeString() + ' · refresh every '
      + REFRESH_MS / 1000 + ' s';
  }

  function openFromHash() {
    var id = decodeURIComponent(location.hash.replace(/^#/, ''));
    if (id.indexOf('model-') === 0) {
      open[id.substring(6)] = true;
      var s = document.getElementById(id);
      if (s) {
        s.open = true;
      }
    }
  }

  // The attention picture of one request: a text (models with a tokenizer) or token ids (models that take ids) in,
  // one head's attention map (queries x keys) and per-token residual norms out.
  var inspector = (function () {
    var form = document.getElementById('inspect-form');
    var modelSelect = document.getElementById('inspect-model');
    var layerSelect = document.getElementById('inspect-layer');
    var headSelect = document.getElementById('inspect-head');
    var text = document.getElementById('inspect-text');
    var ids = document.getElementById('inspect-ids');
    var example = document.getElementById('inspect-example');
    var hint = document.getElementById('inspect-hint');
    var out = document.getElementById('inspect-out');
    // per model: its input, from its metadata (null: neither a text nor a plain token-id model)
    var inputs = {};
    var known = null;
    var idsEdited = false;
    var exampleSeed = 1;

    function option(select, value, label) {
      select.appendChild(el('option', {value: value}, label));
    }

    function selected() {
      var m = null;
      models.forEach(function (x) { if (x.name === modelSelect.value) { m = x; } });
      return m;
    }

    function fillLayers() {
      var m = selected();
      var keepLayer = layerSelect.value;
      var keepHead = headSelect.value;
      layerSelect.replaceChildren();
      headSelect.replaceChildren();
      if (!m) {
        return;
      }
      m.sink_scores.layers.forEach(function (l) { option(layerSelect, String(l.layer), l.name); });
      // before the first probed request the head count is unknown: offer 16, the server names the real count
      var heads = m.sink_scores.heads || 0;
      for (var h = 0; h < (heads || 16); h++) {
        option(headSelect, String(h), 'head ' + h);
      }
      if (keepLayer !== '' && layerSelect.querySelector('option[value="' + keepLayer + '"]')) {
        layerSelect.value = keepLayer;
      }
      if (keepHead !== '' && headSelect.querySelector('option[value="' + keepHead + '"]')) {
        headSelect.value = keepHead;
      }
    }

    // What the model takes, from GET /v2/models/{name}: a text (text_input, or a BYTES input), or token ids: one
    // integer input of [batch, tokens] (the one indexing the largest embedding table), the others attention masks
    // (filled with 1) or other id inputs (token types: filled with 0).
    function inputOf(meta) {
      var params = meta.parameters || {};
      var list = meta.inputs || [];
      if (params.text_input === true || list.some(function (i) { return i.datatype === 'BYTES'; })) {
        return {text: true};
      }
      var vocab = params.vocabulary_size || {};
      var idsInput = null;
      list.forEach(function (i) {
        if (vocab[i.name] !== undefined && (idsInput === null || vocab[i.name] > vocab[idsInput.name])) {
          idsInput = i;
        }
      });
      if (idsInput === null) {
        list.forEach(function (i) { if (idsInput === null && /ids$/.test(i.name)) { idsInput = i; } });
      }
      var plain = list.every(function (i) { return /^U?INT(8|16|32|64)$/.test(i.datatype) && i.shape.length === 2; });
      if (idsInput === null || !plain) {
        return null;
      }
      var others = [];
      for (var j = 0; j < list.length; j++) {
        var i = list[j];
        if (i === idsInput) {
          continue;
        }
        if (/mask/.test(i.name)) {
          others.push({name: i.name, datatype: i.datatype, fill: 1});
        } else if (vocab[i.name] !== undefined) {
          others.push({name: i.name, datatype: i.datatype, fill: 0});
        } else {
          return null;
        }
      }
      var length = idsInput.shape[1];
      return {ids: true, input: idsInput.name, datatype: idsInput.datatype, shape: idsInput.shape,
        vocab: vocab[idsInput.name] === undefined ? null : vocab[idsInput.name],
        fixed: length > 0 ? length : null, max: params.max_sequence_length || null, others: others};
    }

    // A generated sequence the model accepts: its length (the fixed one, else 16), ids 1.. of its vocabulary
    // (0 is often padding), from a seeded xorshift so that the default example is the same on every load.
    function exampleIds(spec, seed) {
      var n = spec.fixed || Math.min(16, spec.max || 16);
      var top = spec.vocab && spec.vocab > 1 ? spec.vocab - 1 : 1;
      var x = seed | 0 || 1;
      var list = [];
      for (var i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        list.push(1 + (x >>> 0) % top);
      }
      return list.join(' ');
    }

    // The form's ids checked against the model's input: whole numbers, inside its vocabulary, as many as it takes.
    function parseIds(model, spec) {
      var raw = ids.value.trim();
      var parts = raw === '' ? [] : raw.split(/[\s,]+/);
      var range = spec.vocab ? ' 0..' + (spec.vocab - 1) : '';
      if (parts.length === 0) {
        return {error: 'type the token ids, separated by spaces, or press "example"'};
      }
      var list = [];
      for (var i = 0; i < parts.length; i++) {
        if (!/^\d+$/.test(parts[i])) {
          return {error: 'position ' + i + ': "' + parts[i] + '" is not a token id (ids are whole numbers'
            + range + ')'};
        }
        var v = Number(parts[i]);
        if (spec.vocab && v >= spec.vocab) {
          return {error: 'position ' + i + ' is id ' + parts[i] + ', outside the vocabulary of ' + model
            + ': valid ids are' + range + ' (input ' + spec.input + ')'};
        }
        list.push(v);
      }
      if (spec.fixed && list.length !== spec.fixed) {
        return {error: model + ' takes exactly ' + spec.fixed + ' token ids (input ' + spec.input + ' has shape ['
          + spec.shape.join(', ') + ']); you gave ' + list.length + ': press "example" for a valid sequence'};
      }
      if (spec.max && list.length > spec.max) {
        return {error: model + ' takes at most ' + spec.max + ' token ids (max_sequence_length); you gave '
          + list.length};
      }
      return {ids: list};
    }

    // Shows the text box or the ids box for the selected model, with what it accepts.
    function showInput() {
      var spec = inputs[modelSelect.value];
      var byIds = !!(spec && spec.ids);
      document.getElementById('inspect-text-label').hidden = byIds;
      document.getElementById('inspect-ids-label').hidden = !byIds;
      example.hidden = !byIds;
      hint.hidden = !byIds;
      if (!byIds) {
        return;
      }
      hint.textContent = modelSelect.value + ' takes token ids: ' + (spec.fixed ? 'exactly ' + spec.fixed
        : '1 to ' + (spec.max || 'any number of')) + ' of them' + (spec.vocab ? ', each 0..' + (spec.vocab - 1) : '')
        + ' (input ' + spec.input + (spec.others.length ? '; ' + spec.others.map(function (o) {
          return o.name + ' all ' + o.fill;
        }).join(', ') : '') + '). Axes: position · id.';
      if (!idsEdited) {
        ids.value = exampleIds(spec, 1);
      }
    }

    // Models with attention sites that take a text or token ids; text models first.
    function refreshModels(list) {
      var candidates = list.filter(function (m) { return m.sink_scores.layers.length > 0; });
      var names = candidates.map(function (m) { return m.name; }).join(',');
      if (names === known) {
        return Promise.resolve();
      }
      known = names;
      return Promise.all(candidates.map(function (m) {
        if (inputs[m.name] !== undefined) {
          return null;
        }
        return fetch('/v2/models/' + encodeURIComponent(m.name)).then(function (r) { return r.json(); })
          .then(function (meta) { inputs[m.name] = inputOf(meta); })
          .catch(function () { inputs[m.name] = null; });
      })).then(function () {
        var keep = modelSelect.value;
        modelSelect.replaceChildren();
        [true, false].forEach(function (textFirst) {
          candidates.forEach(function (m) {
            var spec = inputs[m.name];
            if (spec && !!spec.text === textFirst) {
              option(modelSelect, m.name, spec.text ? m.name : m.name + ' (token ids)');
            }
          });
        });
        document.getElementById('inspector').hidden = modelSelect.options.length === 0;
        if (keep && modelSelect.querySelector('option[value="' + keep + '"]')) {
          modelSelect.value = keep;
        }
        fillLayers();
        showInput();
      });
    }

    function error(message) {
      out.replaceChildren(el('div', {'class': 'inspect-error', id: 'inspect-error'}, message));
    }

    function filled(n, v) {
      var a = [];
      for (var i = 0; i < n; i++) {
        a.push(v);
      }
      return a;
    }

    function run() {
      var model = modelSelect.value;
      var spec = inputs[model];
      var request = {inspect_attention: {layer: Number(layerSelect.value), head: Number(headSelect.value)}};
      var body;
      var sent = null;
      var link = new URLSearchParams({inspect: model, layer: layerSelect.value, head: headSelect.value});
      if (spec && spec.ids) {
        var parsed = parseIds(model, spec);
        if (parsed.error) {
          error(parsed.error);
          return Promise.resolve();
        }
        sent = parsed.ids;
        var n = sent.length;
        body = {inputs: [{name: spec.input, shape: [1, n], datatype: spec.datatype, data: sent}].concat(
          spec.others.map(function (o) {
            return {name: o.name, shape: [1, n], datatype: o.datatype, data: filled(n, o.fill)};
          })), parameters: request};
        link.set('ids', sent.join(' '));
      } else {
        body = {inputs: [{name: 'text', shape: [1], datatype: 'BYTES', data: [text.value]}], parameters: request};
        link.set('text', text.value);
      }
      out.replaceChildren(el('div', {'class': 'none'}, 'running…'));
      return fetch('/v2/models/' + encodeURIComponent(model) + '/infer', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
        .then(function (r) {
          return r.json().then(function (j) {
            if (!r.ok) {
              throw new Error(j.error || ('HTTP ' + r.status));
            }
            return j;
          });
        })
        .then(function (j) {
          var picture = j.inspect_attention;
          if (!picture || picture.error) {
            throw new Error(picture ? picture.error : 'no inspect_attention in the response');
          }
          draw(model, picture, sent, '?' + link.toString());
        })
        .catch(function (e) { error(e.message); });
    }

    // Axis labels: the tokenizer's tokens of a text, "position · id" of token ids.
    function labeller(picture, sent) {
      return function (position, i) {
        if (picture.tokens) {
          return picture.tokens[i];
        }
        return sent ? position + ' · ' + sent[position] : String(position);
      };
    }

    function mapTable(picture, keys, queries, shade) {
      var table = el('table', {'class': 'heat attnmap', id: 'attention-map'});
      var head = el('tr');
      head.appendChild(el('th'));
      keys.forEach(function (k, i) {
        head.appendChild(el('th', {'class': 'key', 'data-k': String(i)}, k));
      });
      table.appendChild(el('thead')).appendChild(head);
      var body = table.appendChild(el('tbody'));
      picture.probabilities.forEach(function (row, q) {
        var tr = body.appendChild(el('tr'));
        tr.appendChild(el('th', {'class': 'query', 'data-q': String(q)}, queries[q]));
        row.forEach(function (p, k) {
          var td = el('td', {'class': 'acell', 'data-q': String(q), 'data-k': String(k), 'data-value': String(p),
            title: queries[q] + ' → ' + keys[k] + ': ' + p.toFixed(4)});
          td.style.background = shade(p).css;
          tr.appendChild(td);
        });
      });
      return table;
    }

    // A map too large for a table (more than TABLE_TOKENS tokens): one pixel per cell, scaled up, position ticks on
    // both axes, and the cell under the pointer read out below.
    function mapImage(picture, keys, queries, shade) {
      var n = picture.query_positions.length;
      var m = picture.key_positions.length;
      var canvas = document.createElement('canvas');
      canvas.width = m;
      canvas.height = n;
      var ctx = canvas.getContext('2d');
      var pixels = ctx.createImageData(m, n);
      picture.probabilities.forEach(function (row, q) {
        row.forEach(function (p, k) {
          var c = shade(p).rgb;
          var o = 4 * (q * m + k);
          pixels.data[o] = c[0];
          pixels.data[o + 1] = c[1];
          pixels.data[o + 2] = c[2];
          pixels.data[o + 3] = 255;
        });
      });
      ctx.putImageData(pixels, 0, 0);
      var scale = Math.max(1, Math.floor(MAP_PX / Math.max(n, m)));
      var step = 1;
      while (Math.max(n, m) / step > 16) {
        step *= 2;
      }
      var grid = el('div', {'class': 'attnimg-grid'});
      grid.style.gridTemplateColumns = '56px ' + m * scale + 'px';
      grid.appendChild(el('div'));
      var top = grid.appendChild(el('div', {'class': 'axis keys'}));
      var left = el('div', {'class': 'axis queries'});
      grid.appendChild(left);
      var image = el('img', {id: 'attention-image', 'class': 'attnimg', src: canvas.toDataURL('image/png'),
        width: String(m * scale), height: String(n * scale), 'data-queries': String(n), 'data-keys': String(m),
        'data-scale': String(scale), alt: 'attention map, ' + n + ' queries x ' + m + ' keys'});
      grid.appendChild(image);
      [[top, picture.key_positions, 'key-tick', 'data-k', 'left'],
        [left, picture.query_positions, 'query-tick', 'data-q', 'top']].forEach(function (a) {
        for (var i = 0; i < a[1].length; i += step) {
          var t = el('span', {'class': 'tick ' + a[2]}, String(a[1][i]));
          t.setAttribute(a[3], String(i));
          t.style[a[4]] = (i * scale + scale / 2) + 'px';
          a[0].appendChild(t);
        }
      });
      var readout = el('div', {'class': 'note readout'}, 'Point at the map for a query, a key and its probability.');
      image.addEventListener('mousemove', function (e) {
        var k = Math.min(m - 1, Math.floor(e.offsetX / scale));
        var q = Math.min(n - 1, Math.floor(e.offsetY / scale));
        readout.textContent = 'query ' + queries[q] + ' → key ' + keys[k] + ': p = '
          + picture.probabilities[q][k].toFixed(4);
      });
      var box = el('div');
      box.appendChild(grid);
      box.appendChild(readout);
      return box;
    }

    function draw(model, picture, sent, link) {
      var label = labeller(picture, sent);
      var keys = picture.key_positions.map(label);
      var queries = picture.query_positions.map(label);
      var large = Math.max(keys.length, queries.length) > TABLE_TOKENS;
      // the colour scale ends at the map's largest probability, so that a diffuse head shows its structure too
      var pmax = 0;
      picture.probabilities.forEach(function (row) { row.forEach(function (p) { pmax = Math.max(pmax, p); }); });
      var shade = function (p) { return colour(SINK, pmax > 0 ? Math.sqrt(p / pmax) : 0); };
      var box = el('div', {'class': 'picture', 'data-model': model, 'data-layer': String(picture.layer),
        'data-head': String(picture.head)});
      var mapPanel = el('div', {'class': 'panel'});
      var h = el('h3', null, 'attention map');
      h.appendChild(el('span', {'class': 'n'}, picture.name + ' · head ' + picture.head + ' of ' + picture.heads
        + ' · rows: queries, columns: keys' + (sent ? ' (position · token id)' : '')));
      mapPanel.appendChild(h);
      var map = large ? mapImage(picture, keys, queries, shade) : mapTable(picture, keys, queries, shade);
      box.setAttribute('data-scale-max', String(pmax));
      mapPanel.appendChild(map);
      var note = el('div', {'class': 'note scale'}, 'Colour: √(p / max), max the largest p of this map ');
      var ramp = note.appendChild(el('span', {'class': 'ramp'}));
      [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
        ramp.appendChild(el('span', {title: 'p = ' + (t * t * pmax).toFixed(4)})).style.background = colour(SINK, t).css;
      });
      note.appendChild(document.createTextNode(' 0 … ' + pmax.toFixed(4) + '; ' + (large ? 'point at the map'
        : 'hover a cell') + ' for p. '));
      note.appendChild(el('a', {'class': 'permalink', href: link}, 'link to this picture'));
      mapPanel.appendChild(note);
      box.appendChild(mapPanel);

      var normsPanel = el('div', {'class': 'panel norms-panel' + (large ? ' dense' : '')});
      var nh = el('h3', null, 'residual norms per token');
      nh.appendChild(el('span', {'class': 'n'}, '‖h‖₂ of each token row, one chart per residual site'));
      normsPanel.appendChild(nh);
      picture.residual_norms.forEach(function (site) {
        var max = 0;
        site.norms.forEach(function (v) { max = Math.max(max, v); });
        var sorted = site.norms.slice().sort(function (a, b) { return a - b; });
        var median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
        var chart = el('div', {'class': 'bars', 'data-layer': String(site.layer), 'data-tensor': site.tensor});
        chart.appendChild(el('div', {'class': 'bars-title', title: site.tensor}, site.name));
        var row = el('div', {'class': 'bars-row'});
        site.norms.forEach(function (v, i) {
          var name = label(site.positions[i], i);
          // a token row far above the others (SPIKE x the median) is what a massive activation looks like here
          var spike = median > 0 && v >= SPIKE * median;
          var bar = el('div', {'class': spike ? 'bar spike' : 'bar', 'data-position': String(site.positions[i]),
            'data-value': String(v), title: name + ': ' + v.toFixed(2) + (spike ? ' (' + (v / median).toFixed(1)
              + ' x the median token)' : '')});
          bar.style.height = (max > 0 ? Math.max(1, Math.round(48 * v / max)) : 1) + 'px';
          row.appendChild(bar);
        });
        chart.appendChild(row);
        chart.appendChild(el('div', {'class': 'bars-max'}, 'max ' + max.toFixed(1)));
        normsPanel.appendChild(chart);
      });
      box.appendChild(normsPanel);
      out.replaceChildren(box);
    }

    modelSelect.addEventListener('change', function () {
      fillLayers();
      showInput();
    });
    ids.addEventListener('input', function () { idsEdited = true; });
    example.addEventListener('click', function () {
      var spec = inputs[modelSelect.value];
      if (spec && spec.ids) {
        exampleSeed = (exampleSeed * 7919 + 17) % 1000003;
        ids.value = exampleIds(spec, exampleSeed);
        idsEdited = false;
      }
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      run();
    });

    // ?inspect=MODEL&text=...|ids=...&layer=L&head=H fills the form and runs it once the models are known (a
    // shareable link; a token-id model without ids runs its generated example)
    var params = new URLSearchParams(location.search);
    var pending = params.get('inspect');
    if (params.get('text') !== null) {
      text.value = params.get('text');
    }
    if (params.get('ids') !== null) {
      ids.value = params.get('ids');
      idsEdited = true;
    }

    return {
      models: function (list) {
        refreshModels(list).then(function () {
          if (pending && modelSelect.querySelector('option[value="' + pending + '"]')) {
            modelSelect.value = pending;
            fillLayers();
            showInput();
            pending = null;
            var wrong = [['layer', layerSelect], ['head', headSelect]].filter(function (p) {
              var v = params.get(p[0]);
              if (v !== null) {
                p[1].value = v;
              }
              return v !== null && p[1].value !== v;
            });
            if (wrong.length > 0) {
              error('the link asks for ' + wrong[0][0] + ' ' + params.get(wrong[0][0]) + ', which model '
                + modelSelect.value + ' does not have: pick one above');
              return;
            }
            run();
          }
        });
      }
    };
  })();

  function refresh() {
    fetch(API, {cache: 'no-store'})
      .then(function (r) {
        if (!r.ok) {
          throw new Error('HTTP ' + r.status);
        }
        return r.json();
      })
      .then(function (view) {
        render(view);
        openFromHash();
      })
      .catch(function (e) {
        // keep the last good view on screen; say that it is stale
        var status = document.getElementById('status');
        status.className = 'status error';
        status.textContent = 'cannot reach ' + API + ' (' + e.message + '); showing the last values';
      });
  }

  window.addEventListener('hashchange', openFromHash);
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
