// The console's "Sesi ujian" tab: create and edit sessions (scheme, site, times in the site's
// zone, capacity, proctors) and a calendar-like list grouped by day in each site's zone.
// The API decides what may change (PATCH /api/v1/sessions/{id}: 409 session_started once begun).
import {describeError} from '../api.js';
import {$, el, fieldError, setText, show} from '../dom.js';
import {zoneLabel} from '../format.js';

const st = {editing: null, sessions: [], api: null};

// "2031-03-02T08:00:00+09:00" -> "2031-03-02T08:00": the site's wall clock, for datetime-local.
const wallClock = (iso) => iso.slice(0, 16);

function dayTitle(localIso) {
  // the local date part, read as a calendar day (no zone conversion)
  const [y, m, d] = localIso.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('id-ID', {
    weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC',
  });
}

const hhmm = (localIso) => localIso.slice(11, 16).replace(':', '.');

function setZoneLabels() {
  const label = zoneLabel($('ses-zone').value);
  for (const node of document.querySelectorAll('.ses-zone-label')) node.textContent = label;
}

function resetForm() {
  st.editing = null;
  $('ses-form').reset();
  for (const id of ['ses-scheme', 'ses-zone', 'ses-start']) $(id).disabled = false;
  setText('ses-form-title', 'Buat sesi baru');
  show('ses-cancel', false);
  fieldError('ses-error', '');
  setZoneLabels();
}

function edit(s) {
  st.editing = s;
  setText('ses-form-title', `Ubah sesi ${s.id}: ${s.title}`);
  $('ses-scheme').value = s.scheme_code;
  $('ses-title').value = s.title;
  $('ses-venue').value = s.venue;
  $('ses-zone').value = s.timezone;
  $('ses-start').value = wallClock(s.starts_at);
  $('ses-end').value = wallClock(s.ends_at);
  $('ses-capacity').value = s.capacity ?? '';
  $('ses-proctors').value = s.proctors.join(', ');
  // the API refuses these once the session has started; the form says so before it is sent
  for (const id of ['ses-scheme', 'ses-zone', 'ses-start']) $(id).disabled = s.started;
  show('ses-cancel', true);
  fieldError('ses-error', s.started ? 'Sesi sudah dimulai: hanya judul, lokasi, waktu selesai yang lebih lambat, kapasitas dan pengawas yang dapat diubah.' : '');
  setZoneLabels();
  $('ses-title').focus();
}

function formBody() {
  const capacity = $('ses-capacity').value.trim();
  const body = {
    title: $('ses-title').value.trim(),
    venue: $('ses-venue').value.trim(),
    ends_at: $('ses-end').value,
    capacity: capacity ? Number(capacity) : null,
    proctors: $('ses-proctors').value.split(',').map((u) => u.trim()).filter(Boolean),
  };
  if (!st.editing || !st.editing.started) {
    Object.assign(body, {scheme_code: $('ses-scheme').value, timezone: $('ses-zone').value, starts_at: $('ses-start').value});
  }
  // datetime-local gives the site's wall clock without a zone: the API reads it in `timezone`
  for (const key of ['starts_at', 'ends_at']) if (body[key] && body[key].length === 16) body[key] += ':00';
  if (st.editing && st.editing.started && body.ends_at === `${wallClock(st.editing.ends_at)}:00`) delete body.ends_at;
  return body;
}

async function save(ev) {
  ev.preventDefault();
  fieldError('ses-error', '');
  const body = formBody();
  if (!body.title || !body.venue || !body.ends_at || (!st.editing && !body.starts_at)) {
    fieldError('ses-error', 'Isi skema, judul, lokasi, waktu mulai dan waktu selesai.');
    return;
  }
  try {
    const out = st.editing
      ? await st.api.request('PATCH', `/api/v1/sessions/${st.editing.id}`, body)
      : await st.api.post('/api/v1/sessions', body);
    const verb = st.editing ? 'diubah' : 'dibuat';
    resetForm();
    await loadSessions(st.api);
    setText('ses-summary', `Sesi ${out.id} (${out.title}) ${verb}: ${out.starts_at_text} sampai ${out.ends_at_text}.`);
  } catch (err) {
    fieldError('ses-error', describeError(err));
  }
}

function sessionCard(s) {
  const zone = zoneLabel(s.timezone);
  const seats = s.capacity ? `${s.registered} dari ${s.capacity} kursi terisi` : `${s.registered} peserta terdaftar`;
  const state = s.results_published ? 'hasil diterbitkan' : s.started ? 'sudah dimulai' : 'terjadwal';
  return el(
    'li',
    {class: 'cal-item'},
    el('p', {class: 'cal-time'}, `${hhmm(s.starts_at)}–${hhmm(s.ends_at)} ${zone}`),
    el(
      'div',
      {class: 'cal-body'},
      el('h4', {}, `Sesi ${s.id}: ${s.title}`),
      el('p', {}, `${s.venue} · skema ${s.scheme_code} versi ${s.scheme_version} · ${seats}`),
      el('p', {class: 'muted'}, `Pengawas: ${s.proctors.length ? s.proctors.join(', ') : 'belum ada'} · ${state}`),
    ),
    s.results_published
      ? ''
      : el('button', {type: 'button', onclick: () => edit(s), 'aria-label': `Ubah sesi ${s.id}`}, 'Ubah'),
  );
}

function renderCalendar() {
  // grouped by the day in each session's own zone, earliest first
  const days = new Map();
  const sorted = [...st.sessions].sort((a, b) => new Date(a.starts_at) - new Date(b.starts_at));
  for (const s of sorted) {
    const day = s.starts_at.slice(0, 10);
    if (!days.has(day)) days.set(day, []);
    days.get(day).push(s);
  }
  const out = $('ses-calendar');
  out.replaceChildren();
  for (const [day, list] of days) {
    out.append(el('section', {class: 'cal-day', 'aria-label': dayTitle(day)}, el('h3', {}, dayTitle(day)), el('ol', {class: 'plain'}, ...list.map(sessionCard))));
  }
  show('ses-empty', st.sessions.length === 0);
}

export async function loadSessions(api) {
  st.api = api;
  try {
    const [schemes, sessions] = await Promise.all([api.get('/api/v1/schemes'), api.get('/api/v1/sessions')]);
    const select = $('ses-scheme');
    const current = select.value;
    select.replaceChildren(
      ...schemes.map((s) =>
        el('option', {value: s.code, disabled: s.retired}, `${s.code} versi ${s.version} - ${s.title}${s.retired ? ' (dipensiunkan)' : ''}`),
      ),
    );
    if (current) select.value = current;
    st.sessions = sessions;
    renderCalendar();
  } catch (err) {
    setText('ses-summary', describeError(err));
  }
}

export function initSessions(api) {
  st.api = api;
  $('ses-form').addEventListener('submit', save);
  $('ses-cancel').addEventListener('click', resetForm);
  $('ses-zone').addEventListener('change', setZoneLabels);
}
