/** The HTML report's own CSS (uPlot's is inlined beside it). Colours meet WCAG AA on white. */
export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#111827}
main{margin:2rem auto;max-width:1180px;padding:0 1rem}
h2{margin-top:2rem}h3{font-size:1rem;margin:0 0 .25rem}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;margin:1rem 0;width:100%}th,td{padding:.3rem .6rem;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{background:#f9fafb;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.meta{color:#4b5563}
.regression{color:#b91c1c;font-weight:600}.improvement{color:#15803d;font-weight:600}
.gate{padding:.6rem .9rem;border-radius:6px;margin:1rem 0}.gate.fail{background:#fee2e2}.gate.pass{background:#dcfce7}.gate.skipped{background:#f3f4f6}
code{font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:1rem}
.chart-box{border:1px solid #d1d5db;border-radius:6px;padding:.5rem;min-width:0}
table.items td{min-width:12rem;max-width:28rem}
table.items pre,table.items .preview{white-space:pre-wrap;word-break:break-word;margin:0;font-size:12px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
table.items pre{background:#f3f4f6;padding:.35rem .45rem;border-radius:4px;max-height:24rem;overflow:auto}
details summary{cursor:pointer}details[open] summary .preview{display:none}details[open] > pre{margin-top:.25rem}
ul.scores{list-style:none;margin:.35rem 0 0;padding:0;font-size:12px}ul.scores .scorer{color:#4b5563}
`;
