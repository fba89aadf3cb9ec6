// The style sheet and the script every HTML report page carries inline (html_report.h):
// the page loads nothing, so these are its whole presentation and behaviour.
#ifndef CANVASS_ENGINE_REPORT_INTERNAL_HTML_ASSETS_H_
#define CANVASS_ENGINE_REPORT_INTERNAL_HTML_ASSETS_H_

namespace canvass::internal {

// Screen first; phone widths (tables scroll sideways in their wrapper, definition lists
// stack) and print (no controls, no scrolling, black on white) below.
inline constexpr char kHtmlStyle[] = R"css(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--head:#f6f8fa;--ok:#1a7f37;--bad:#cf222e;
--warn:#9a6700;--c:#0969da;--r:#9aa4ae;--hot:#cf222e}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:#fff;
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main,header,footer,nav{max-width:1120px;margin:0 auto;padding:0 16px}
.synthetic{background:#fff8c5;border-bottom:3px solid #d4a72c;padding:10px 16px;text-align:center;
font-weight:600}
.synthetic b{background:#1f2328;color:#fff8c5;padding:1px 8px;border-radius:4px;margin-right:6px;
letter-spacing:.08em}
h1{font-size:1.6em;margin:.7em 0 .1em;line-height:1.2}
h2{font-size:1.25em;border-bottom:1px solid var(--line);padding-bottom:.25em;margin:2em 0 .6em}
h3{font-size:1.05em;margin:1.4em 0 .4em}
.sub,.note,figcaption{color:var(--muted)}
nav{display:flex;flex-wrap:wrap;gap:4px 14px;padding-top:6px;padding-bottom:6px;
border-bottom:1px solid var(--line)}
a{color:var(--c)}
.verdict{border:2px solid var(--line);border-radius:8px;padding:10px 16px;display:flex;
flex-wrap:wrap;gap:6px 24px;align-items:baseline;margin:8px 0 12px}
.verdict.match{border-color:var(--ok)}.verdict.mismatch{border-color:var(--bad)}
.big{font-size:2em;font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.match .big,.ok{color:var(--ok)}.mismatch .big,.bad,.risk{color:var(--bad)}
.risk{font-weight:700}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:8px 0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.tw{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:8px 0;max-width:100%}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{background:var(--head);font-weight:600}
.n{text-align:right}
tr.sum td{font-weight:600;border-top:2px solid var(--line)}
tr.differs td{background:#fff1f0}
td.neg{color:var(--bad)}td.pos{color:var(--warn)}
table.sortable th{cursor:pointer;user-select:none}
th[aria-sort=ascending]::after{content:" \25B2"}th[aria-sort=descending]::after{content:" \25BC"}
.lazy{content-visibility:auto}
figure{margin:10px 0;max-width:760px}
svg{width:100%;height:auto;display:block}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--fg)}
.bc{fill:var(--c)}.br{fill:var(--r)}.bh{fill:var(--hot)}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
input[type=search]{font:inherit;padding:6px 8px;width:min(100%,340px);border:1px solid var(--line);
border-radius:6px}
.count{color:var(--muted)}
footer{color:var(--muted);border-top:1px solid var(--line);margin-top:3em;padding-top:8px;
padding-bottom:24px;font-size:.9em}
@media (max-width:640px){
body{font-size:14px}h1{font-size:1.3em}.big{font-size:1.5em}
th,td{padding:3px 6px}dl.kv{grid-template-columns:1fr;gap:0}dt{margin-top:6px}}
@media print{
nav,.controls{display:none!important}
.lazy{content-visibility:visible}
body{font-size:10pt;color:#000}main,header,footer{max-width:none;padding:0}
.tw{overflow:visible}th,td{white-space:normal}
.synthetic{border:2px solid #000;background:none}
a{color:inherit;text-decoration:none}h2{break-after:avoid}tr,figure,.verdict{break-inside:avoid}
tr[hidden]{display:table-row!important}}
)css";

// Sorting (click or Enter on a header), filtering and search (the boxes stay hidden without
// the script). On success it marks <html data-script="ok">, which the browser test checks.
inline constexpr char kHtmlScript[] = R"js(
(function () {
  'use strict';
  var each = function (list, f) { Array.prototype.forEach.call(list, f); };
  var key = function (cell) {
    var text = cell ? cell.textContent.trim() : '';
    var number = text.replace(/[,+]/g, '');
    return /^-?\d+$/.test(number) ? {n: parseFloat(number)} : {s: text.toLowerCase()};
  };
  var compare = function (a, b) {
    if ('n' in a && 'n' in b) return a.n - b.n;
    if ('n' in a) return -1;
    if ('n' in b) return 1;
    return a.s < b.s ? -1 : (a.s > b.s ? 1 : 0);
  };
  var sort = function (table, index, header) {
    var body = table.tBodies[0];
    var descending = header.getAttribute('aria-sort') !== 'descending';
    var rows = Array.prototype.map.call(body.rows, function (row, i) {
      return {row: row, key: key(row.cells[index]), i: i};
    });
    rows.sort(function (x, y) {
      var c = compare(x.key, y.key);
      return (descending ? -c : c) || x.i - y.i;
    });
    each(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    header.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    var fragment = document.createDocumentFragment();
    rows.forEach(function (r) { fragment.appendChild(r.row); });
    body.appendChild(fragment);
  };
  each(document.querySelectorAll('table.sortable'), function (table) {
    each(table.tHead.rows[0].cells, function (header, index) {
      var go = function () { sort(table, index, header); };
      header.tabIndex = 0;
      header.title = 'sort by this column';
      header.addEventListener('click', go);
      header.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); }
      });
    });
  });
  each(document.querySelectorAll('input[data-filter]'), function (input) {
    var tables = input.getAttribute('data-filter').split(' ').map(function (id) {
      return document.getElementById(id);
    }).filter(Boolean);
    var columns = parseInt(input.getAttribute('data-columns'), 10) || 1;
    var count = input.parentNode.querySelector('.count');
    input.addEventListener('input', function () {
      var query = input.value.trim().toLowerCase();
      var shown = 0, total = 0;
      tables.forEach(function (table) {
        each(table.tBodies[0].rows, function (row) {
          var text = '';
          for (var c = 0; c < columns && c < row.cells.length; ++c) {
            text += row.cells[c].textContent.toLowerCase() + '\u0000';
          }
          var show = !query || text.indexOf(query) >= 0;
          row.hidden = !show;
          total += 1;
          if (show) shown += 1;
        });
      });
      count.textContent = query ? shown + ' of ' + total + ' rows' : '';
    });
    input.parentNode.hidden = false;
  });
  document.documentElement.setAttribute('data-script', 'ok');
})();
)js";

}  // namespace canvass::internal

#endif  // CANVASS_ENGINE_REPORT_INTERNAL_HTML_ASSETS_H_
