// The client code of the dashboard and of the eval HTML report (which inlines this file with
// uPlot; gateway/ui/charts/inline.ts): draws the charts whose data the server put in the page as
// `application/json` blocks (shape: gateway/ui/charts/spec.ts). Loaded as a file by the
// dashboard, whose CSP allows no inline script.
(function () {
  'use strict';
  var PALETTE = ['#1f5fbf', '#b3261e', '#1b7f3b', '#8a4baf', '#a65f00', '#00707a'];
  // Overlapping series stay visible: each also differs in dash and in marker size (hollow
  // markers, the first largest, so equal values show as concentric rings).
  var DASHES = [undefined, [8, 4], [2, 3], [12, 3, 2, 3]];
  var MARKERS = [14, 9, 4];
  var COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8];

  // Axis ticks readable at any magnitude (costs are often fractions of a cent).
  function tick(v, unit) {
    if (v == null) return '';
    var abs = Math.abs(v);
    var text = abs === 0 ? '0' : abs >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : abs >= 1 ? String(+v.toFixed(2)) : String(+v.toPrecision(2));
    return unit === 'USD' ? '$' + text : text;
  }

  // Time ticks in UTC, 24-hour: the time, with the date under the first tick of each day
  // (dates alone once ticks are a day or more apart).
  function timeTicks(u, splits, axisIdx, space, incr) {
    var day = null;
    return splits.map(function (v) {
      if (v == null) return null;
      var iso = new Date(v * 1000).toISOString();
      if (incr >= 86400) return iso.slice(0, 10);
      var time = iso.slice(11, incr < 60 ? 19 : 16);
      var label = iso.slice(0, 10) === day ? time : time + '\n' + iso.slice(0, 10);
      day = iso.slice(0, 10);
      return label;
    });
  }

  // The canvas has no text: the tick labels last drawn are kept on the chart element
  // (data-ticks-x, data-ticks-y) for tests and for anyone inspecting the page.
  function recorded(el, name, format) {
    return function (u, splits, axisIdx, space, incr) {
      var labels = format(u, splits, axisIdx, space, incr);
      el.setAttribute('data-ticks-' + name, labels.filter(function (l) { return l != null && l !== ''; }).join('|'));
      return labels;
    };
  }

  function utc(v) {
    return v == null ? '' : new Date(v * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  }

  // The x range: the spec's, else the data's, widened around a single point (an hour either
  // side on a time axis) so one point is not stretched over years.
  function xRange(spec) {
    if (spec.xRange) return spec.xRange;
    var lo = Math.min.apply(null, spec.x);
    var hi = Math.max.apply(null, spec.x);
    if (lo !== hi) return [lo, hi];
    var pad = spec.xKind === 'value' ? Math.max(1, Math.abs(lo)) / 2 : 3600;
    return [lo - pad, hi + pad];
  }

  function xAxis(el, spec) {
    if (spec.xKind === 'value') return { label: spec.xLabel || '', values: recorded(el, 'x', function (u, splits) { return splits.map(function (v) { return tick(v, ''); }); }) };
    return { space: 70, size: 56, values: recorded(el, 'x', timeTicks) };
  }

  function yAxis(el, spec) {
    var axis = { label: spec.unit || '', size: spec.unit === 'USD' ? 100 : 70 };
    if (spec.integer) {
      axis.incrs = COUNT_STEPS;
      axis.values = recorded(el, 'y', function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) ? v.toLocaleString('en-US') : ''; }); });
    } else {
      axis.values = recorded(el, 'y', function (u, splits) { return splits.map(function (v) { return tick(v, spec.unit); }); });
    }
    return axis;
  }

  function drawChart(el) {
    var source = document.getElementById(el.getAttribute('data-source'));
    if (!source || typeof uPlot === 'undefined') return;
    var spec = JSON.parse(source.textContent || '{}');
    var empty = spec.series.every(function (s) { return s.values.every(function (v) { return v == null; }); });
    if (!spec.x || spec.x.length === 0 || empty) {
      el.textContent = 'No data in this range.';
      return;
    }
    var time = spec.xKind !== 'value';
    var series = [{ label: time ? 'time' : spec.xLabel || 'x', value: time ? function (u, v) { return utc(v); } : function (u, v) { return v == null ? '' : String(v); } }];
    var data = [spec.x];
    spec.series.forEach(function (s, i) {
      var color = PALETTE[i % PALETTE.length];
      series.push({
        label: s.label,
        stroke: color,
        width: 2,
        dash: s.dash || DASHES[i % DASHES.length],
        points: { show: true, size: MARKERS[i % MARKERS.length], width: 1.5, stroke: color, fill: '#ffffff' },
        spanGaps: true,
        value: spec.integer ? function (u, v) { return v == null ? '' : String(v); } : function (u, v) { return v == null ? '' : tick(v, spec.unit); },
      });
      data.push(s.values);
    });
    var range = xRange(spec);
    var y = spec.integer ? { range: function (u, min, max) { return [0, Math.max(1, Math.ceil(max * 1.1))]; } } : {};
    var opts = {
      width: Math.max(280, el.clientWidth || 600),
      height: 220,
      series: series,
      axes: [xAxis(el, spec), yAxis(el, spec)],
      scales: { x: { time: time, range: function () { return range; } }, y: y },
      // Times are shown in UTC everywhere, like the API.
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'); },
      legend: { live: true },
    };
    new uPlot(opts, data, el);
  }

  document.querySelectorAll('.chart[data-source]').forEach(drawChart);

  // Forms marked data-confirm ask before they change something.
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      if (!window.confirm(form.getAttribute('data-confirm'))) e.preventDefault();
    });
  });
})();
