// The report page's inline CSS and JS (reports/html_report.h), kept apart from the C++ that
// writes the page so each reads as what it is. The script needs nothing but the page: no network,
// no libraries; it works from a file:// URL. It reads the timeline's index from
// <script id="timeline-index">, loads chunk files with <script src> as the visible window needs
// them, and draws only the ops in that window (at most kMaxDrawn elements). Every value reaches the
// DOM as text (textContent, title), never as HTML.
#pragma once

#include <string_view>

namespace faultline::reports {

inline constexpr std::string_view kReportStyle = R"css(
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fff}
header{padding:10px 20px;border-bottom:1px solid #ddd;background:#fafafa}
header h1{margin:0 0 4px;font-size:20px}
nav a{margin-right:10px}
main{padding:0 20px 40px}
h2{margin:24px 0 8px;font-size:17px;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:4px 0}
th,td{padding:2px 8px;text-align:left;vertical-align:top}
table.grid th,table.grid td{border:1px solid #ddd}
table.keys th{font-weight:600;color:#555}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600}
tr.never td{background:#fff3e0}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:400px;white-space:pre-wrap;
word-break:break-all}
.verdict{display:inline-block;padding:1px 8px;border-radius:4px;color:#fff;background:#888;
font-weight:600;font-size:13px}
.v-valid{background:#2e7d32}.v-invalid{background:#c62828}.v-unknown{background:#ef6c00}
.note{color:#666}.warn{color:#b35c00}.error{color:#c62828}
.fault-bars{margin:8px 0}
.fault-row{display:flex;align-items:center;height:18px;margin:2px 0}
.fault-label{width:110px;flex:none;overflow:hidden;text-overflow:ellipsis}
.fault-track{position:relative;flex:1;height:14px;background:#f2f2f2}
.fault-bar{position:absolute;top:0;height:14px;min-width:2px}
.k0{background:#e41a1c88}.k1{background:#377eb888}.k2{background:#4daf4a88}
.k3{background:#984ea388}.k4{background:#ff7f0088}.k5{background:#a6562888}
figure.plot{display:inline-block;width:600px;max-width:100%;margin:8px;vertical-align:top}
figure.plot img{max-width:640px;width:100%;border:1px solid #ddd}
.controls{margin:6px 0}.controls button{min-width:32px}
#tl-position{width:300px;vertical-align:middle}
#tl-window{margin-left:8px;color:#444}
#timeline-view{position:relative;border:1px solid #ddd;min-height:40px;overflow:hidden}
.tl-axis{position:relative;height:18px;margin-left:90px;border-bottom:1px solid #ccc;
font-size:11px;color:#555}
.tl-tick{position:absolute;top:0;padding-left:2px;border-left:1px solid #ccc;height:18px;
white-space:nowrap}
.tl-bands{position:absolute;left:90px;right:0;top:18px;bottom:0;pointer-events:none}
.tl-band{position:absolute;top:0;bottom:0;min-width:1px}
.tl-lane{display:flex;height:16px;border-bottom:1px solid #f3f3f3}
.tl-label{width:86px;flex:none;padding-right:4px;text-align:right;font-size:11px;color:#555;
overflow:hidden}
.tl-track{position:relative;flex:1}
.tl-op{position:absolute;top:2px;height:11px;min-width:2px;cursor:pointer;border-radius:2px}
.o-ok{background:#43a047}.o-fail{background:#e53935}.o-info{background:#fb8c00}
.o-pending{background:#9e9e9e}
.tl-op.selected{outline:2px solid #000}
.tl-overview{position:relative;height:80px;margin-left:90px;cursor:zoom-in;background:#fafafa}
.tl-density{position:absolute;bottom:0;min-width:1px;background:#90a4ae}
#timeline-detail:empty{display:none}
)css";

inline constexpr std::string_view kReportScript = R"js(
(function () {
  'use strict';
  var kMaxDrawn = 3000;   // op elements drawn at once
  var kMaxChunks = 16;    // chunk files a window may need
  var kOutcomes = ['ok', 'fail', 'info', 'pending'];
  var indexElement = document.getElementById('timeline-index');
  var view = document.getElementById('timeline-view');
  var status = document.getElementById('timeline-status');
  var detail = document.getElementById('timeline-detail');
  var windowText = document.getElementById('tl-window');
  var slider = document.getElementById('tl-position');
  if (!indexElement || !view) return;
  var index;
  try {
    index = JSON.parse(indexElement.textContent);
  } catch (error) {
    status.textContent = 'The timeline index is not readable: ' + error;
    return;
  }
  var chunks = index.chunks || [];
  var loaded = {}, requested = {}, failed = {};
  var end = Math.max(index.end || 0, 1);
  var start = 0;
  var width = end;
  if (chunks.length > 0) {
    start = chunks[0][0];
    width = Math.max(1, Math.min(end, index.first_window || end));
  }
  var drawScheduled = false;

  window.faultlineTimeline = {
    addChunk: function (number, ops) {
      loaded[number] = ops;
      schedule();
    }
  };

  function schedule() {
    if (drawScheduled) return;
    drawScheduled = true;
    window.setTimeout(function () { drawScheduled = false; draw(); }, 0);
  }

  function formatTime(t) {
    if (index.unit !== 'us') return '#' + Math.round(t);
    var seconds = t / 1e6;
    var digits = Math.min(6, Math.max(0, Math.ceil(-Math.log10(Math.max(width, 1) / 1e6)) + 2));
    return seconds.toFixed(digits) + ' s';
  }

  function formatDuration(d) {
    if (index.unit !== 'us') return d + ' positions';
    if (d < 1000) return d + ' \u00b5s';
    if (d < 1e6) return (d / 1000).toFixed(3) + ' ms';
    return (d / 1e6).toFixed(3) + ' s';
  }

  function pad(number) {
    var text = String(number);
    while (text.length < 4) text = '0' + text;
    return text;
  }

  // The first chunk whose first invocation is after t (binary search: chunks are in order).
  function firstAfter(t) {
    var low = 0, high = chunks.length;
    while (low < high) {
      var middle = (low + high) >> 1;
      if (chunks[middle][0] <= t) low = middle + 1; else high = middle;
    }
    return low;
  }

  // The chunks holding ops that overlap [a, b]: those invoked in it (a contiguous range), then
  // earlier ones whose ops reach into it (long ops), as many as the bound allows.
  function neededChunks(a, b) {
    var high = firstAfter(b);
    var low = high;
    while (low > 0 && chunks[low - 1][1] >= a) low--;
    var needed = [];
    for (var i = low; i < high; i++) needed.push(i);
    if (needed.length > kMaxChunks) return null;
    for (var j = low - 1; j >= 0 && needed.length < kMaxChunks; j--) {
      if (chunks[j][2] >= a) needed.push(j);
    }
    return needed;
  }

  function load(number) {
    if (requested[number]) return;
    requested[number] = true;
    var script = document.createElement('script');
    script.src = (index.dir || 'timeline/') + pad(number) + '.js';
    script.onerror = function () {
      failed[number] = true;
      status.textContent = script.src + ' could not be loaded: the timeline files must lie ' +
          'beside index.html.';
    };
    document.body.appendChild(script);
  }

  function clamp() {
    width = Math.max(1, Math.min(width, end));
    start = Math.max(0, Math.min(start, end - width));
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function processName(process) {
    return process < 0 ? 'nemesis' : 'process ' + process;
  }

  function describe(op) {
    var f = index.fs[op[3]];
    var lines = [
      processName(op[2]) + '  ' + f + '  ' + kOutcomes[op[4]] + '  (index ' + op[8] + ')',
      'invoked:   ' + formatTime(op[0]) + '  value ' + JSON.stringify(op[5]),
      op[4] === 3 ? 'never completed' :
          'completed: ' + formatTime(op[1]) + '  value ' + JSON.stringify(op[6]) +
          '  after ' + formatDuration(op[1] - op[0])
    ];
    if (op[7] !== null && op[7] !== undefined) lines.push('error:     ' + JSON.stringify(op[7]));
    return lines.join('\n');
  }

  function draw() {
    clamp();
    var a = start, b = start + width;
    windowText.textContent = formatTime(a) + ' to ' + formatTime(b) + ' of ' + formatTime(end);
    slider.value = String(end > width ? Math.round(1000 * start / (end - width)) : 0);
    if (chunks.length === 0) {
      status.textContent = 'No operations.';
      view.textContent = '';
      return;
    }
    var needed = neededChunks(a, b);
    if (needed === null) {
      status.textContent = 'Too many operations in this window to draw each: their density ' +
          'per timeline file is shown. Click it, or zoom in (+), to see the operations.';
      renderOverview(a, b);
      return;
    }
    var missing = 0, broken = 0;
    needed.forEach(function (number) {
      if (failed[number]) broken++;
      else if (!loaded[number]) { missing++; load(number); }
    });
    if (missing > 0) {
      status.textContent = 'Loading ' + missing + ' timeline file(s)\u2026';
      return;
    }
    var ops = [];
    needed.forEach(function (number) {
      var chunk = loaded[number] || [];
      for (var i = 0; i < chunk.length; i++) {
        var op = chunk[i];
        if (op[0] <= b && op[1] >= a) ops.push(op);
      }
    });
    ops.sort(function (x, y) { return x[0] - y[0]; });
    var total = ops.length;
    if (total > kMaxDrawn) ops = ops.slice(0, kMaxDrawn);
    status.textContent = total + ' operations in this window' +
        (total > kMaxDrawn ? '; drawing the first ' + kMaxDrawn + ': zoom in (+) for the rest' : '') +
        (broken > 0 ? '; ' + broken + ' timeline file(s) missing' : '') + '.';
    render(ops, a, b);
  }

  function percent(t, a, b) {
    return (100 * (t - a) / (b - a)) + '%';
  }

  function render(ops, a, b) {
    var fragment = document.createDocumentFragment();
    var axis = element('div', 'tl-axis');
    for (var k = 0; k < 6; k++) {
      var t = a + (b - a) * k / 6;
      var tick = element('span', 'tl-tick', formatTime(t));
      tick.style.left = percent(t, a, b);
      axis.appendChild(tick);
    }
    fragment.appendChild(axis);
    var bands = element('div', 'tl-bands');
    var kinds = [];
    (index.faults || []).forEach(function (fault) {
      if (kinds.indexOf(fault[0]) < 0) kinds.push(fault[0]);
    });
    kinds.sort();
    (index.faults || []).forEach(function (fault) {
      if (fault[2] < a || fault[1] > b) return;
      var band = element('div', 'tl-band k' + (kinds.indexOf(fault[0]) % 6));
      band.style.left = percent(Math.max(fault[1], a), a, b);
      band.style.width = (100 * (Math.min(fault[2], b) - Math.max(fault[1], a)) / (b - a)) + '%';
      band.title = fault[0];
      bands.appendChild(band);
    });
    fragment.appendChild(bands);
    var lanes = {};
    var processes = [];
    ops.forEach(function (op) {
      if (!lanes[op[2]]) { lanes[op[2]] = []; processes.push(op[2]); }
      lanes[op[2]].push(op);
    });
    processes.sort(function (x, y) { return x - y; });
    processes.forEach(function (process) {
      var lane = element('div', 'tl-lane');
      lane.appendChild(element('div', 'tl-label', process < 0 ? 'nemesis' : 'p' + process));
      var track = element('div', 'tl-track');
      lanes[process].forEach(function (op) {
        var from = Math.max(op[0], a), to = Math.min(op[1], b);
        var bar = element('div', 'tl-op o-' + kOutcomes[op[4]]);
        bar.style.left = percent(from, a, b);
        bar.style.width = (100 * (to - from) / (b - a)) + '%';
        bar.title = index.fs[op[3]] + ' ' + JSON.stringify(op[5]) + ' \u2192 ' + kOutcomes[op[4]] +
            (op[4] === 3 ? '' : ' ' + JSON.stringify(op[6]));
        bar.addEventListener('click', function () {
          var selected = view.querySelector('.tl-op.selected');
          if (selected) selected.classList.remove('selected');
          bar.classList.add('selected');
          detail.textContent = describe(op);
        });
        track.appendChild(bar);
      });
      lane.appendChild(track);
      fragment.appendChild(lane);
    });
    view.textContent = '';
    view.appendChild(fragment);
  }

  // Wide windows: one bar per chunk file, as high as its ops per unit of time (from the index
  // alone, nothing loaded). A click zooms to the first window's width there.
  function renderOverview(a, b) {
    var fragment = document.createDocumentFragment();
    var overview = element('div', 'tl-overview');
    var densest = 0;
    chunks.forEach(function (chunk) {
      densest = Math.max(densest, chunk[3] / Math.max(chunk[1] - chunk[0], 1));
    });
    chunks.forEach(function (chunk) {
      if (chunk[1] < a || chunk[0] > b) return;
      var bar = element('div', 'tl-density');
      var from = Math.max(chunk[0], a), to = Math.min(chunk[1], b);
      bar.style.left = percent(from, a, b);
      bar.style.width = (100 * Math.max(to - from, 0) / (b - a)) + '%';
      bar.style.height = (100 * chunk[3] / Math.max(chunk[1] - chunk[0], 1) / densest) + '%';
      bar.title = chunk[3] + ' ops from ' + formatTime(chunk[0]) + ' to ' + formatTime(chunk[1]);
      overview.appendChild(bar);
    });
    overview.addEventListener('click', function (event) {
      var box = overview.getBoundingClientRect();
      var t = a + (b - a) * (event.clientX - box.left) / Math.max(box.width, 1);
      width = Math.max(1, index.first_window || width / 8);
      start = t - width / 2;
      schedule();
    });
    fragment.appendChild(overview);
    view.textContent = '';
    view.appendChild(fragment);
  }

  function on(id, action) {
    var button = document.getElementById(id);
    if (button) button.addEventListener('click', function () { action(); schedule(); });
  }
  on('tl-first', function () { start = 0; });
  on('tl-prev', function () { start -= width * 0.8; });
  on('tl-next', function () { start += width * 0.8; });
  on('tl-last', function () { start = end - width; });
  on('tl-zoom-in', function () { start += width / 4; width /= 2; });
  on('tl-zoom-out', function () { start -= width / 2; width *= 2; });
  if (slider) {
    slider.addEventListener('input', function () {
      start = (end - width) * Number(slider.value) / 1000;
      schedule();
    });
  }
  schedule();
})();
)js";

}  // namespace faultline::reports
