// The proctor's page (/pengawas): sessions, the roster refreshed every few seconds, and the
// controls of the API (admit, pause, resume, extend, terminate, release to another device,
// incidents), each asking for what the API requires. Times in the session's own time zone.

import {ApiError, Client, NetworkError, describeError} from './api.js';
import {$, banner, closeDialog, el, fieldError, isOpen, openDialog, setText, show, showView} from './dom.js';
import {formatClock, formatDuration, zoneLabel} from './format.js';
import {Poller} from './poll.js';

const ROSTER_MS = 5000;
const IDLE_WARN_SECONDS = 120;
const SESSION_KEY = 'apkd.pengawas.sesi';

const STATUS_LABEL = {
  registered: 'Belum hadir',
  waiting: 'Menunggu di pintu',
  moving: 'Menunggu pindah perangkat',
  admitted: 'Diizinkan, belum mulai',
  in_progress: 'Mengerjakan',
  paused: 'Dijeda',
  submitted: 'Selesai (dikumpulkan)',
  expired: 'Waktu habis',
  terminated: 'Dihentikan',
};
const OPEN = ['in_progress', 'paused'];

const ACTIONS = {
  admit: {
    title: 'Izinkan masuk',
    button: 'Izinkan',
    help: 'Pastikan identitas peserta (KTP/kartu pegawai) sudah diperiksa dan sesuai.',
    reasonLabel: 'Catatan (boleh kosong)',
    reasonRequired: false,
    seat: true,
  },
  'admit-all': {
    title: 'Izinkan semua yang menunggu',
    button: 'Izinkan semua',
    help: 'Semua peserta yang sedang menunggu di pintu diizinkan masuk. Pastikan identitas mereka sudah diperiksa.',
    reasonLabel: 'Catatan (boleh kosong)',
    reasonRequired: false,
  },
  'pause-room': {
    title: 'Jeda seluruh ruang',
    button: 'Jeda semua',
    help: 'Semua peserta yang sedang mengerjakan dijeda dengan satu alasan (misalnya listrik padam). Waktu mereka berhenti.',
    reasonLabel: 'Alasan jeda',
  },
  'resume-room': {
    title: 'Lanjutkan seluruh ruang',
    button: 'Lanjutkan semua',
    help: 'Semua peserta yang dijeda dilanjutkan.',
    reasonLabel: 'Alasan melanjutkan',
  },
  pause: {
    title: 'Jeda ujian',
    button: 'Jeda',
    help: 'Waktu peserta berhenti selama jeda dan ditambahkan kembali saat dilanjutkan.',
    reasonLabel: 'Alasan jeda',
  },
  resume: {title: 'Lanjutkan ujian', button: 'Lanjutkan', help: '', reasonLabel: 'Alasan melanjutkan'},
  extend: {
    title: 'Tambah waktu',
    button: 'Tambah waktu',
    help: 'Tambahan waktu dicatat di berita acara.',
    reasonLabel: 'Alasan penambahan waktu',
    minutes: true,
  },
  terminate: {
    title: 'Hentikan ujian',
    button: 'Hentikan ujian',
    help: 'Ujian peserta ditutup sekarang dan tidak dapat dilanjutkan. Jawaban yang sudah tersimpan tetap disimpan.',
    reasonLabel: 'Alasan penghentian',
    danger: true,
  },
  release: {
    title: 'Izinkan pindah perangkat',
    button: 'Lepaskan',
    help: 'Ujian dilepas dari login/komputer lama; login peserta berikutnya yang membukanya akan memegangnya.',
    reasonLabel: 'Alasan pindah perangkat',
  },
  incident: {
    title: 'Catat kejadian',
    button: 'Simpan kejadian',
    help: 'Kejadian dicatat di berita acara sesi.',
    reasonLabel: 'Uraian kejadian',
    category: true,
  },
};

const api = new Client('pengawas');
const st = {
  session: null,
  roster: [],
  fetchedAt: 0, // performance.now() of the last roster answer
  tickTimer: null,
  action: null, // {kind, row}
};

// The session being watched, so that a reload comes back to it (this tab only).
function remember(value) {
  try {
    if (value === null) sessionStorage.removeItem(SESSION_KEY);
    else sessionStorage.setItem(SESSION_KEY, value);
  } catch (_err) {
    // storage off: not remembered
  }
}

function recall() {
  try {
    return sessionStorage.getItem(SESSION_KEY);
  } catch (_err) {
    return null;
  }
}

// --- sessions ------------------------------------------------------------------------------------

async function loadSessions() {
  stopRoster();
  showView('sessions');
  try {
    const sessions = await api.get('/api/v1/sessions');
    const list = $('session-list');
    list.replaceChildren(
      ...sessions.map((s) =>
        el(
          'li',
          {},
          el(
            'div',
            {},
            el('div', {class: 'name'}, el('strong', {}, s.title)),
            el('div', {class: 'muted'}, `${s.scheme_title} · ${s.venue}`),
            el(
              'div',
              {class: 'muted'},
              `${s.starts_at_text} s.d. ${s.ends_at_text} · ${s.registered} peserta · nomor sesi ${s.id}`,
            ),
          ),
          el('button', {type: 'button', class: 'btn-primary', onclick: () => openSession(s.id)}, 'Buka'),
        ),
      ),
    );
    show('sessions-empty', sessions.length === 0);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) banner(describeError(err), 'bad');
  }
}

async function openSession(id) {
  try {
    const s = await api.get(`/api/v1/sessions/${id}`);
    st.session = s;
    remember(String(id));
    setText('s-title', s.title);
    setText('s-id', s.id);
    setText('s-scheme', `${s.scheme_title} (${s.scheme_code})`);
    setText('s-venue', s.venue);
    const zone = zoneLabel(s.timezone);
    const window_ = `${s.starts_at_text} s.d. ${s.ends_at_text}`;
    setText('s-window', window_.includes(zone) ? window_ : `${window_} (${zone})`);
    st.roster = [];
    $('roster-body').replaceChildren();
    $('minutes-box').open = false;
    showView('roster');
    await refreshRoster();
    startRoster();
  } catch (err) {
    remember(null);
    if (!(err instanceof ApiError && err.status === 401)) {
      banner(describeError(err), 'bad');
      loadSessions();
    }
  }
}

// --- roster --------------------------------------------------------------------------------------

const rosterPoller = new Poller(loadRoster, ROSTER_MS);

function startRoster() {
  stopRoster();
  rosterPoller.start();
  st.tickTimer = setInterval(tickRemaining, 1000);
}

function stopRoster() {
  rosterPoller.stop();
  clearInterval(st.tickTimer);
  st.tickTimer = null;
}

function refreshRoster() {
  return rosterPoller.now();
}

async function loadRoster() {
  if (!st.session) return;
  try {
    const rows = await api.get(`/api/v1/sessions/${st.session.id}/roster`);
    st.roster = rows;
    st.fetchedAt = performance.now();
    renderRoster();
    setText('roster-updated', `Diperbarui ${formatClock(new Date().toISOString(), st.session.timezone)}`);
    if ($('banner').dataset.offline) {
      delete $('banner').dataset.offline;
      banner('');
    }
  } catch (err) {
    if (err instanceof NetworkError || (err instanceof ApiError && err.retryable)) {
      $('banner').dataset.offline = '1';
      banner('Server tidak dapat dihubungi; daftar peserta mungkin tidak terkini. Mencoba lagi…', 'bad');
    } else if (!(err instanceof ApiError && err.status === 401)) {
      banner(describeError(err), 'bad');
    }
  }
}

function remainingOf(row) {
  if (row.remaining_seconds === null || row.remaining_seconds === undefined) return null;
  if (row.status !== 'in_progress') return row.remaining_seconds;
  return Math.max(0, row.remaining_seconds - (performance.now() - st.fetchedAt) / 1000);
}

function remainingText(row) {
  return row.attempt_id && OPEN.includes(row.status) ? formatDuration(remainingOf(row)) : '-';
}

function tickRemaining() {
  for (const cell of document.querySelectorAll('#roster-body td.remaining')) {
    const row = st.roster[Number(cell.dataset.index)];
    if (row) cell.textContent = remainingText(row);
  }
}

// What the row means to a proctor, and how urgently it needs them (lower = first).
function stateOf(row) {
  if (row.waiting) return 'waiting';
  if (row.awaiting_device) return 'moving';
  return row.status;
}

function urgency(row) {
  const state = stateOf(row);
  if (state === 'waiting') return 0;
  if (state === 'moving') return 1;
  if (state === 'paused') return 2;
  if (isIdle(row)) return 3;
  if (state === 'in_progress') return 4;
  if (state === 'admitted') return 5;
  if (state === 'registered') return 6;
  return 7;
}

function isIdle(row) {
  return row.status === 'in_progress' && typeof row.idle_seconds === 'number' && row.idle_seconds > IDLE_WARN_SECONDS;
}

function matches(row, query) {
  if (!query) return true;
  const hay = [row.full_name, row.nip, row.username, row.seat].filter(Boolean).join(' ').toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .every((word) => hay.includes(word));
}

function actionButton(kind, row, label, cls) {
  return el('button', {type: 'button', class: cls, onclick: () => openAction(kind, row)}, label);
}

function rowActions(row) {
  const buttons = [];
  const primary = [];
  if (row.status === 'registered') primary.push(actionButton('admit', row, 'Izinkan masuk', 'btn-primary'));
  if (row.attempt_id && OPEN.includes(row.status)) {
    if (row.status === 'in_progress') buttons.push(actionButton('pause', row, 'Jeda'));
    if (row.status === 'paused') buttons.push(actionButton('resume', row, 'Lanjutkan', 'btn-primary'));
    buttons.push(actionButton('extend', row, 'Tambah waktu'));
    buttons.push(actionButton('release', row, 'Pindah perangkat'));
    buttons.push(actionButton('terminate', row, 'Hentikan', 'btn-danger'));
  }
  buttons.push(actionButton('incident', row, 'Kejadian'));
  const menu = el(
    'details',
    {class: 'menu'},
    el('summary', {'aria-label': `Tindakan lain untuk ${row.full_name}`}, 'Tindakan'),
    el('div', {class: 'menu-items'}, ...buttons),
  );
  return el('div', {class: 'actions'}, ...primary, menu);
}

function renderRoster() {
  const tz = st.session.timezone;
  const counts = {};
  const query = $('roster-filter').value.trim();
  const order = st.roster
    .map((row, index) => ({row, index}))
    .sort((a, b) => urgency(a.row) - urgency(b.row) || a.row.full_name.localeCompare(b.row.full_name, 'id'));
  const rows = [];
  let waiting = 0;
  for (const {row, index} of order) {
    const state = stateOf(row);
    counts[state] = (counts[state] || 0) + 1;
    if (state === 'waiting') waiting += 1;
    if (!matches(row, query)) continue;
    const seat = el('td', {'data-label': 'Kursi', class: 'seat mono'}, row.seat || '-');
    const who = el(
      'td',
      {'data-label': 'Peserta'},
      el('div', {class: 'name'}, row.full_name),
      el('div', {class: 'muted mono'}, row.nip ? `NIP ${row.nip}` : row.username),
    );
    const status = el(
      'td',
      {'data-label': 'Status'},
      el('span', {class: `badge ${state}`}, STATUS_LABEL[state] || state),
      isIdle(row)
        ? el('span', {class: 'badge idle'}, `Tidak menyimpan ${Math.floor(row.idle_seconds / 60)} menit`)
        : null,
      row.current_position ? el('div', {class: 'muted'}, `di soal ${row.current_position}`) : null,
    );
    const remaining = el(
      'td',
      {'data-label': 'Sisa waktu', class: 'remaining mono', dataset: {index}},
      remainingText(row),
    );
    const saved = el(
      'td',
      {'data-label': 'Simpan terakhir', class: 'mono'},
      row.last_saved_at ? formatClock(row.last_saved_at, tz) : '-',
    );
    rows.push(
      el('tr', {class: `row-${state}${isIdle(row) ? ' row-idle' : ''}`}, seat, who, status, remaining, saved, el('td', {}, rowActions(row))),
    );
  }
  // Keep the page calm while a dialog is open: the rows are rebuilt, the dialog is untouched.
  // A row menu left open stays open across the refresh.
  const openMenu = document.querySelector('#roster-body details.menu[open]');
  const openName = openMenu ? openMenu.closest('tr').querySelector('.name').textContent : null;
  $('roster-body').replaceChildren(...rows);
  if (openName) {
    const again = [...document.querySelectorAll('#roster-body tr')].find((tr) => tr.querySelector('.name').textContent === openName);
    if (again) again.querySelector('details.menu').open = true;
  }
  show('roster-empty', st.roster.length === 0);
  const parts = Object.entries(counts).map(([k, n]) => `${STATUS_LABEL[k] || k}: ${n}`);
  setText('roster-counts', `${st.roster.length} peserta. ${parts.join(' · ')}`);
  const admitAll = $('admit-all');
  admitAll.disabled = waiting === 0;
  admitAll.textContent = waiting ? `Izinkan semua yang menunggu (${waiting})` : 'Izinkan semua yang menunggu';
}

// --- minutes (berita acara) --------------------------------------------------------------------

const CATEGORY_LABEL = {environment: 'Lingkungan', candidate: 'Peserta', staff: 'Petugas', technical: 'Teknis'};
const ACTION_LABEL = {
  admit: 'Izinkan masuk',
  pause: 'Jeda',
  resume: 'Lanjutkan',
  extend: 'Tambah waktu',
  terminate: 'Hentikan',
  release: 'Pindah perangkat',
};

function entry(time, title, ...rest) {
  return el('li', {}, el('span', {class: 'mono muted'}, time), ' ', el('strong', {}, title), ...rest);
}

async function loadMinutes() {
  if (!st.session || !$('minutes-box').open) return;
  try {
    const m = await api.get(`/api/v1/sessions/${st.session.id}/minutes`);
    const incidents = m.incidents.map((i) =>
      entry(
        i.created_at_text,
        CATEGORY_LABEL[i.category] || i.category,
        i.username ? ` · ${i.username}` : '',
        i.item_position ? ` (soal ${i.item_position})` : '',
        `: ${i.description}`,
        el('span', {class: 'muted'}, ` (dicatat oleh ${i.reported_by})`),
      ),
    );
    const actions = m.proctor_actions.map((a) =>
      entry(
        a.created_at_text,
        ACTION_LABEL[a.action] || a.action,
        a.username ? ` · ${a.username}` : '',
        a.minutes ? ` · ${a.minutes} menit` : '',
        a.reason ? `: ${a.reason}` : '',
        el('span', {class: 'muted'}, ` (oleh ${a.actor})`),
      ),
    );
    $('minutes-incidents').replaceChildren(...(incidents.length ? incidents : [el('li', {class: 'muted'}, 'Belum ada kejadian.')]));
    $('minutes-actions').replaceChildren(...(actions.length ? actions : [el('li', {class: 'muted'}, 'Belum ada tindakan.')]));
    setText('minutes-updated', `Disusun ${m.generated_at_text}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) setText('minutes-updated', describeError(err));
  }
}

// --- actions -------------------------------------------------------------------------------------

function openAction(kind, row) {
  const spec = ACTIONS[kind];
  st.action = {kind, row};
  setText('action-title', spec.title);
  setText('action-who', row ? `${row.full_name}${row.nip ? ` (NIP ${row.nip})` : ''}` : roomWho(kind));
  setText('action-help', spec.help);
  show('action-help', Boolean(spec.help));
  setText('action-reason-label', spec.reasonLabel);
  $('action-reason').value = '';
  $('action-reason').required = spec.reasonRequired !== false;
  show('action-minutes-box', Boolean(spec.minutes));
  $('action-minutes').value = spec.minutes ? '10' : '';
  show('action-category-box', Boolean(spec.category));
  show('action-seat-box', Boolean(spec.seat));
  $('action-seat').value = row && row.seat ? row.seat : '';
  $('action-category').value = 'technical';
  const submit = $('action-submit');
  submit.textContent = spec.button;
  submit.className = spec.danger ? 'btn-danger' : 'btn-primary';
  submit.disabled = false;
  fieldError('action-error', '');
  openDialog($('action-dialog'));
  (spec.minutes ? $('action-minutes') : $('action-reason')).focus();
}

function roomTargets(kind) {
  if (kind === 'admit-all') return st.roster.filter((r) => r.waiting);
  if (kind === 'pause-room') return st.roster.filter((r) => r.attempt_id && r.status === 'in_progress');
  if (kind === 'resume-room') return st.roster.filter((r) => r.attempt_id && r.status === 'paused');
  return [];
}

function roomWho(kind) {
  const targets = roomTargets(kind);
  if (!ACTIONS[kind] || !kind.includes('-')) return `Sesi: ${st.session.title}`;
  return targets.length
    ? `${targets.length} peserta: ${targets.map((r) => r.full_name).join(', ')}`
    : 'Tidak ada peserta yang perlu ditindak.';
}

function closeAction() {
  const dialog = $('action-dialog');
  if (isOpen(dialog)) closeDialog(dialog);
  st.action = null;
}

function requestFor(kind, row, reason, minutes, category, seat) {
  const attempt = row && row.attempt_id;
  switch (kind) {
    case 'admit':
    case 'admit-all': {
      const body = reason ? {note: reason} : {};
      if (seat) body.seat = seat;
      return [`/api/v1/registrations/${row.registration_id}/admit`, body];
    }
    case 'pause-room':
      return [`/api/v1/attempts/${attempt}/pause`, {reason}];
    case 'resume-room':
      return [`/api/v1/attempts/${attempt}/resume`, {reason}];
    case 'extend':
      return [`/api/v1/attempts/${attempt}/extend`, {minutes, reason}];
    case 'incident': {
      const body = {category, description: reason};
      if (attempt) body.attempt_id = attempt;
      return [`/api/v1/sessions/${st.session.id}/incidents`, body];
    }
    default:
      return [`/api/v1/attempts/${attempt}/${kind}`, {reason}];
  }
}

const DONE_TEXT = {
  admit: 'diizinkan masuk',
  pause: 'dijeda',
  resume: 'dilanjutkan',
  extend: 'diberi tambahan waktu',
  terminate: 'dihentikan',
  release: 'dilepaskan untuk pindah perangkat; menunggu login baru di komputer lain',
  incident: 'kejadian dicatat',
  'admit-all': 'diizinkan masuk',
  'pause-room': 'dijeda',
  'resume-room': 'dilanjutkan',
};

async function submitAction(ev) {
  ev.preventDefault();
  if (!st.action) return;
  const {kind, row} = st.action;
  const spec = ACTIONS[kind];
  const reason = $('action-reason').value.trim();
  if (spec.reasonRequired !== false && !reason) {
    fieldError('action-error', `${spec.reasonLabel} wajib diisi.`);
    return;
  }
  let minutes = null;
  if (spec.minutes) {
    minutes = Number($('action-minutes').value);
    if (!Number.isInteger(minutes) || minutes < 1) {
      fieldError('action-error', 'Tambahan waktu harus bilangan bulat menit, paling sedikit 1.');
      return;
    }
  }
  const submit = $('action-submit');
  submit.disabled = true;
  const seat = $('action-seat').value.trim();
  const targets = kind.includes('-') ? roomTargets(kind) : [row];
  if (targets.length === 0) {
    fieldError('action-error', 'Tidak ada peserta yang perlu ditindak.');
    submit.disabled = false;
    return;
  }
  try {
    const failed = [];
    for (const target of targets) {
      const [path, body] = requestFor(kind, target, reason, minutes, $('action-category').value, seat);
      try {
        await api.post(path, body);
      } catch (err) {
        if (targets.length === 1) throw err;
        failed.push(`${target ? target.full_name : ''}: ${describeError(err)}`);
      }
    }
    closeAction();
    const who = kind.includes('-') ? `${targets.length - failed.length} peserta` : row ? row.full_name : 'Sesi';
    banner(`${who}: ${DONE_TEXT[kind]}.${failed.length ? ` Gagal: ${failed.join('; ')}` : ''}`, failed.length ? 'bad' : 'ok', 8);
    await refreshRoster();
    loadMinutes();
  } catch (err) {
    fieldError('action-error', describeError(err));
    submit.disabled = false;
  }
}

// --- the berita acara as a document ------------------------------------------------------------

function person(p) {
  return p ? `${p.full_name}${p.nip ? ` (NIP ${p.nip})` : ''}` : '';
}

async function openDoc() {
  if (!st.session) return;
  try {
    const d = await api.get(`/api/v1/sessions/${st.session.id}/minutes/document`);
    const facts = [
      ['Nomor sesi', String(d.session_id)],
      ['Sesi', d.title],
      ['Skema', `${d.scheme_title} (${d.scheme_code})`],
      ['Tempat', d.venue],
      ['Waktu', d.window_text],
      ['Pengawas', d.proctors.map(person).join('; ') || '-'],
    ];
    $('doc-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    const c = d.counts;
    setText(
      'doc-counts',
      `Terdaftar ${c.registered}; hadir dan memulai ${c.started}; tidak hadir/tidak memulai ${c.absent}; ` +
        `dikumpulkan ${c.submitted}; waktu habis ${c.expired}; dihentikan ${c.terminated}; ` +
        `masih berlangsung ${c.in_progress + c.paused}.`,
    );
    $('doc-candidates').replaceChildren(
      ...d.candidates.map((x) =>
        el('tr', {}, el('td', {}, x.seat || '-'), el('td', {}, x.full_name), el('td', {class: 'mono'}, x.nip || '-'), el('td', {}, x.status_text)),
      ),
    );
    const entries = (list, empty, by) =>
      list.length
        ? list.map((e) =>
            el(
              'li',
              {},
              el('span', {class: 'mono'}, e.time_text),
              ' ',
              el('strong', {}, e.kind_text),
              e.candidate ? ` · ${person(e.candidate)}` : '',
              e.text ? `: ${e.text}` : '',
              ` (${by} ${e.by.full_name})`,
            ),
          )
        : [el('li', {}, empty)];
    $('doc-incidents').replaceChildren(...entries(d.incidents, 'Tidak ada kejadian yang dicatat.', 'dicatat oleh'));
    $('doc-actions').replaceChildren(...entries(d.actions, 'Tidak ada tindakan yang dicatat.', 'oleh'));
    setText('doc-generated', `Disusun ${d.generated_at_text}.`);
    $('doc-signatures').replaceChildren(
      ...d.proctors.map((p) =>
        el('div', {class: 'signature'}, el('div', {}, 'Pengawas,'), el('div', {class: 'sign-space'}), el('div', {class: 'name'}, p.full_name), el('div', {}, p.nip ? `NIP ${p.nip}` : 'NIP -')),
      ),
    );
    stopRoster();
    showView('doc');
    $('doc-title').focus();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) banner(describeError(err), 'bad');
  }
}

function closeDoc() {
  showView('roster');
  startRoster();
  refreshRoster();
}

// --- login ---------------------------------------------------------------------------------------

async function afterLogin() {
  setText('who-name', api.username);
  show('who', true);
  const saved = recall();
  if (saved) await openSession(Number(saved));
  else await loadSessions();
}

async function onLogin(ev) {
  ev.preventDefault();
  fieldError('login-error', '');
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  if (!username || !password) {
    fieldError('login-error', 'Isi nama pengguna dan kata sandi.');
    return;
  }
  try {
    const token = await api.signIn(username, password);
    $('login-password').value = '';
    if (token.role !== 'proctor' && token.role !== 'admin') {
      api.clear();
      fieldError('login-error', 'Akun ini bukan akun pengawas. Peserta memakai halaman /ujian.');
      return;
    }
    await afterLogin();
  } catch (err) {
    fieldError('login-error', describeError(err));
  }
}

function logout() {
  stopRoster();
  closeAction();
  api.clear();
  remember(null);
  st.session = null;
  show('who', false);
  banner('');
  showView('login');
}

function loginExpired() {
  logout();
  fieldError('login-error', 'Sesi login berakhir. Silakan masuk lagi.');
}

// A site server's package is opened with the code on the proctor's sheet (issue 16).
async function unlockPackage(ev) {
  ev.preventDefault();
  const error = $('unlock-error');
  error.hidden = true;
  try {
    const out = await api.post(`/api/v1/sites/${st.session.id}/unlock`, {code: $('unlock-code').value});
    $('unlock-code').value = '';
    $('unlock-box').open = false;
    banner(`Paket terbuka; peserta dapat mulai. Selisih jam komputer: ${out.clock_offset_seconds} detik.`, 'ok', 10);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    error.textContent = describeError(err);
    error.hidden = false;
  }
}

function init() {
  api.onUnauthorized = loginExpired;
  $('unlock-form').addEventListener('submit', unlockPackage);
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', logout);
  $('back-sessions').addEventListener('click', () => {
    remember(null);
    st.session = null;
    loadSessions();
  });
  $('session-incident').addEventListener('click', () => openAction('incident', null));
  $('roster-filter').addEventListener('input', () => renderRoster());
  $('admit-all').addEventListener('click', () => openAction('admit-all', null));
  $('pause-room').addEventListener('click', () => openAction('pause-room', null));
  $('resume-room').addEventListener('click', () => openAction('resume-room', null));
  $('open-doc').addEventListener('click', openDoc);
  $('doc-back').addEventListener('click', closeDoc);
  $('roster-xlsx').addEventListener('click', () =>
    api
      .download(`/api/v1/sessions/${st.session.id}/roster.xlsx`, `daftar-hadir-sesi-${st.session.id}.xlsx`)
      .catch((err) => banner(describeError(err), 'bad', 8)),
  );
  $('doc-print').addEventListener('click', () => window.print());
  $('doc-pdf').addEventListener('click', () =>
    api
      .download(`/api/v1/sessions/${st.session.id}/minutes.pdf`, `berita-acara-sesi-${st.session.id}.pdf`)
      .catch((err) => banner(describeError(err), 'bad', 8)),
  );
  $('minutes-box').addEventListener('toggle', loadMinutes);
  $('action-form').addEventListener('submit', submitAction);
  $('action-cancel').addEventListener('click', closeAction);
  $('action-dialog').addEventListener('close', () => {
    st.action = null;
  });
  if (api.loggedIn) {
    api
      .refresh()
      .then(afterLogin)
      .catch((err) => {
        if (!(err instanceof ApiError)) afterLogin();
      });
  } else {
    showView('login');
  }
}

init();
