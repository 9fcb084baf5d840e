// The dashboard's only client code: draws the charts whose data the server put in the page.
// Loaded as a file (the CSP allows no inline script).
(function () {
  'use strict';
  var PALETTE = ['#1f5fbf', '#b3261e', '#1b7f3b', '#8a4baf', '#a65f00', '#00707a'];

  // Axis ticks readable at any magnitude (costs are often fractions of a cent).
  function tick(v, unit) {
    if (v == null) return '';
    var abs = Math.abs(v);
    var text = abs === 0 ? '0' : abs >= 1000 ? v.toLocaleString('en-US', { maximumFractionDigits: 0 }) : abs >= 1 ? String(+v.toFixed(2)) : String(+v.toPrecision(2));
    return unit === 'USD' ? '$' + text : text;
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
    var series = [{ label: 'time', value: function (u, v) { return v == null ? '' : new Date(v * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'; } }];
    var data = [spec.x];
    spec.series.forEach(function (s, i) {
      series.push({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        dash: s.dash || undefined,
        points: { show: true, size: 6 },
        spanGaps: true,
      });
      data.push(s.values);
    });
    var width = Math.max(280, el.clientWidth || 600);
    var opts = {
      width: width,
      height: 220,
      series: series,
      axes: [{}, { label: spec.unit || '', size: spec.unit === 'USD' ? 100 : 70, values: function (u, splits) { return splits.map(function (v) { return tick(v, spec.unit); }); } }],
      scales: { x: spec.xRange ? { time: true, range: function () { return spec.xRange; } } : { time: true } },
      // The dashboard shows UTC everywhere, like the API.
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
