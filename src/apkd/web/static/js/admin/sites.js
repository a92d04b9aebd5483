// The console's "Lokasi ujian" tab: each site package and how far it went (exported, loaded,
// unlocked, sealed, ingested), with times in the site's zone, last contact and clock offset.
// Data: GET /api/v1/sites (admin). See docs/decisions/042-site-state-reports.md.
import {describeError} from '../api.js';
import {$, el, setText, show} from '../dom.js';
import {formatClock} from '../format.js';

const STEPS = [
  ['exported', 'Diekspor'],
  ['loaded', 'Dimuat'],
  ['unlocked', 'Dibuka'],
  ['sealed', 'Disegel'],
  ['ingested', 'Diterima pusat'],
];
const WRONG_CLOCK_SECONDS = 600; // the site refuses an unlock beyond this; show it as a warning

function offsetText(seconds) {
  if (seconds === null || seconds === undefined) return '-';
  const sign = seconds > 0 ? '+' : seconds < 0 ? '−' : '';
  const s = Math.abs(seconds);
  const parts = [];
  if (s >= 3600) parts.push(`${Math.floor(s / 3600)} jam`);
  if (s >= 60) parts.push(`${Math.floor((s % 3600) / 60)} mnt`);
  parts.push(`${s % 60} dtk`);
  return `${sign}${parts.join(' ')}`;
}

function stepper(row) {
  const reached = STEPS.findIndex(([key]) => key === row.state);
  const list = el('ol', {class: 'steps', 'aria-label': `Keadaan paket sesi ${row.session_id}`});
  STEPS.forEach(([key, label], i) => {
    const at = row.times ? row.times[key] : null;
    const attrs = {class: i <= reached ? 'done' : 'todo'};
    if (i === reached) attrs['aria-current'] = 'step';
    const when = at ? formatClock(at, row.timezone, true) : i <= reached ? 'waktu tidak dilaporkan' : 'belum';
    list.append(el('li', attrs, el('span', {class: 'step-name'}, label), ' ', el('span', {class: 'step-time'}, when)));
  });
  return list;
}

function renderRow(row) {
  const state = el('td', {}, stepper(row));
  if (row.unlock_overdue) {
    state.append(el('p', {class: 'warn-text'}, 'Sesi sudah dimulai tetapi lokasi belum melaporkan paket dibuka.'));
  }
  const offset = el('td', {}, offsetText(row.clock_offset_seconds));
  if (row.clock_offset_seconds !== null && Math.abs(row.clock_offset_seconds) > WRONG_CLOCK_SECONDS) {
    offset.append(el('p', {class: 'warn-text'}, 'Jam komputer lokasi meleset.'));
  }
  const counts = row.counts
    ? el('p', {class: 'muted'}, `${row.counts.started ?? 0} dari ${row.counts.registered ?? 0} peserta mulai, ${row.counts.submitted ?? 0} selesai`)
    : '';
  return el(
    'tr',
    {class: row.unlock_overdue ? 'flagged-row' : ''},
    el('th', {scope: 'row'}, `Sesi ${row.session_id}`, el('br'), el('span', {class: 'muted'}, row.session_title || '')),
    el('td', {}, row.venue || '-', el('br'), el('span', {class: 'muted'}, `mulai ${formatClock(row.starts_at, row.timezone, true)}`)),
    state,
    el('td', {}, row.last_contact_at ? formatClock(row.last_contact_at, row.timezone, true) : 'belum pernah', counts),
    offset,
  );
}

export async function loadSites(api) {
  try {
    const rows = await api.get('/api/v1/sites');
    $('sites-body').replaceChildren(...rows.map(renderRow));
    show('sites-empty', rows.length === 0);
    const overdue = rows.filter((r) => r.unlock_overdue).length;
    setText(
      'sites-summary',
      `${rows.length} paket lokasi${overdue ? `; ${overdue} sesi sudah dimulai tanpa laporan paket dibuka` : ''}.`,
    );
  } catch (err) {
    setText('sites-summary', describeError(err));
  }
}

export function initSites(api) {
  $('sites-reload').addEventListener('click', () => loadSites(api));
}
