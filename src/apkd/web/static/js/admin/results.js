// The results tab's candidate results: each candidate's score, outcome and unit scores, and the
// score distribution as an SVG bar chart built here, with the same numbers as a table.
// Data: GET /api/v1/sessions/{id}/results (admin, auditor); the API bins the scores.
import {describeError} from '../api.js';
import {$, el, setText, show} from '../dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const num = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1).replace('.', ','));
const OUTCOME = {kompeten: 'kompeten', belum_kompeten: 'belum kompeten'};

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function distributionChart(report) {
  const W = 480, H = 240, L = 36, B = 36, T = 12, R = 8;
  const bins = report.distribution;
  const max = Math.max(1, ...bins.map((b) => b.count));
  const bw = (W - L - R) / bins.length;
  const y = (n) => T + (1 - n / max) * (H - T - B);
  const svg = svgEl('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'sr-chart-title'});
  svg.append(svgEl('title', {id: 'sr-chart-title'}, `Sebaran nilai ${report.rows.length} peserta sesi ${report.session_id}; nilai lulus ${num(report.pass_score)}`));
  svg.append(svgEl('line', {x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis'}));
  svg.append(svgEl('line', {x1: L, y1: T, x2: L, y2: H - B, class: 'axis'}));
  for (const t of [0, Math.ceil(max / 2), max]) svg.append(svgEl('text', {x: L - 6, y: y(t) + 4, 'text-anchor': 'end'}, String(t)));
  bins.forEach((b, i) => {
    const x = L + i * bw;
    const bar = svgEl('rect', {x: x + 2, y: y(b.count), width: bw - 4, height: H - B - y(b.count), class: b.low >= report.pass_score ? 'bar-pass' : 'bar-fail'});
    bar.append(svgEl('title', {}, `${b.low}–${b.high}: ${b.count} peserta`));
    svg.append(bar);
    svg.append(svgEl('text', {x: x + bw / 2, y: H - B + 14, 'text-anchor': 'middle'}, String(b.low)));
  });
  const px = L + (report.pass_score / 100) * (W - L - R);
  svg.append(svgEl('line', {x1: px, y1: T, x2: px, y2: H - B, class: 'pass-line'}));
  svg.append(svgEl('text', {x: (L + W) / 2, y: H - 4, 'text-anchor': 'middle'}, 'nilai akhir'));
  return svg;
}

export async function loadResults(api, sid) {
  try {
    const report = await api.get(`/api/v1/sessions/${sid}/results`);
    const n = report.rows.length;
    setText(
      'sr-summary',
      n
        ? `${n} peserta dinilai, ${report.passed} kompeten; rata-rata nilai ${num(report.mean)} (nilai lulus ${num(report.pass_score)}).${report.published ? '' : ' Hasil belum diterbitkan.'}`
        : 'Belum ada hasil: terbitkan hasil sesi ini dulu.',
    );
    $('sr-head').replaceChildren(
      el('tr', {}, ...['Nama', 'NIP', 'Instansi', 'Nilai', ...report.units, 'Hasil'].map((h) => el('th', {scope: 'col'}, h))),
    );
    $('sr-body').replaceChildren(
      ...report.rows.map((r) => {
        const units = Object.fromEntries(r.units.map((u) => [u.code, u]));
        return el(
          'tr',
          {},
          el('th', {scope: 'row'}, r.full_name),
          el('td', {class: 'mono'}, r.nip || '-'),
          el('td', {}, r.instansi || '-'),
          el('td', {}, num(r.score)),
          ...report.units.map((c) => el('td', {class: units[c] && !units[c].passed ? 'below' : ''}, units[c] ? `${num(units[c].score)}${units[c].passed ? '' : ' (di bawah batas unit)'}` : '-')),
          el('td', {class: r.passed ? 'status-valid' : ''}, OUTCOME[r.outcome] || r.outcome),
        );
      }),
    );
    $('sr-bins').replaceChildren(...report.distribution.map((b) => el('tr', {}, el('th', {scope: 'row'}, `${b.low}–${b.high === 100 ? 100 : b.high - 1}`), el('td', {}, String(b.count)))));
    $('sr-chart').replaceChildren(distributionChart(report));
    show('sr-figure', n > 0);
    show('sr-bins-wrap', n > 0);
  } catch (err) {
    setText('sr-summary', describeError(err));
  }
}
