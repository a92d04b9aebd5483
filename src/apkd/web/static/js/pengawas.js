// The proctor's page (/pengawas): sessions, the roster refreshed every few seconds, and the
// controls of the API (admit, pause, resume, extend, terminate, release to another device,
// incidents), each asking for what the API requires. Times in the session's own time zone.

import {ApiError, Client, NetworkError, describeError} from './api.js';
import {$, banner, closeDialog, el, fieldError, isOpen, openDialog, setText, show, showView} from './dom.js';
import {formatClock, formatDuration, zoneLabel} from './format.js';

const ROSTER_MS = 5000;
const SESSION_KEY = 'apkd.pengawas.sesi';

const STATUS_LABEL = {
  registered: 'Terdaftar, belum diizinkan',
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
  rosterTimer: null,
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

function startRoster() {
  stopRoster();
  st.rosterTimer = setInterval(refreshRoster, ROSTER_MS);
  st.tickTimer = setInterval(tickRemaining, 1000);
}

function stopRoster() {
  clearInterval(st.rosterTimer);
  clearInterval(st.tickTimer);
  st.rosterTimer = null;
  st.tickTimer = null;
}

let refreshing = false;
async function refreshRoster() {
  if (!st.session || refreshing) return;
  refreshing = true;
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
  } finally {
    refreshing = false;
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

function actionButton(kind, row, label, cls) {
  return el('button', {type: 'button', class: cls, onclick: () => openAction(kind, row)}, label);
}

function rowActions(row) {
  const buttons = [];
  if (row.status === 'registered') buttons.push(actionButton('admit', row, 'Izinkan masuk', 'btn-primary'));
  if (row.attempt_id && OPEN.includes(row.status)) {
    if (row.status === 'in_progress') buttons.push(actionButton('pause', row, 'Jeda'));
    if (row.status === 'paused') buttons.push(actionButton('resume', row, 'Lanjutkan', 'btn-primary'));
    buttons.push(actionButton('extend', row, 'Tambah waktu'));
    buttons.push(actionButton('release', row, 'Pindah perangkat'));
    buttons.push(actionButton('terminate', row, 'Hentikan', 'btn-danger'));
  }
  buttons.push(actionButton('incident', row, 'Kejadian'));
  return el('div', {class: 'actions'}, ...buttons);
}

function renderRoster() {
  const tz = st.session.timezone;
  const counts = {};
  const rows = st.roster.map((row, index) => {
    counts[row.status] = (counts[row.status] || 0) + 1;
    const who = el(
      'td',
      {'data-label': 'Peserta'},
      el('div', {class: 'name'}, row.full_name),
      el('div', {class: 'muted mono'}, row.nip ? `NIP ${row.nip}` : row.username),
    );
    const status = el(
      'td',
      {'data-label': 'Status'},
      el('span', {class: `badge ${row.status}`}, STATUS_LABEL[row.status] || row.status),
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
    return el('tr', {}, who, status, remaining, saved, el('td', {}, rowActions(row)));
  });
  // Keep the page calm while a dialog is open: the rows are rebuilt, the dialog is untouched.
  $('roster-body').replaceChildren(...rows);
  show('roster-empty', st.roster.length === 0);
  const parts = Object.entries(counts).map(([s, n]) => `${STATUS_LABEL[s] || s}: ${n}`);
  setText('roster-counts', `${st.roster.length} peserta. ${parts.join(' · ')}`);
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
  setText('action-who', row ? `${row.full_name} (${row.username})` : `Sesi: ${st.session.title}`);
  setText('action-help', spec.help);
  show('action-help', Boolean(spec.help));
  setText('action-reason-label', spec.reasonLabel);
  $('action-reason').value = '';
  $('action-reason').required = spec.reasonRequired !== false;
  show('action-minutes-box', Boolean(spec.minutes));
  $('action-minutes').value = spec.minutes ? '10' : '';
  show('action-category-box', Boolean(spec.category));
  $('action-category').value = 'technical';
  const submit = $('action-submit');
  submit.textContent = spec.button;
  submit.className = spec.danger ? 'btn-danger' : 'btn-primary';
  submit.disabled = false;
  fieldError('action-error', '');
  openDialog($('action-dialog'));
  (spec.minutes ? $('action-minutes') : $('action-reason')).focus();
}

function closeAction() {
  const dialog = $('action-dialog');
  if (isOpen(dialog)) closeDialog(dialog);
  st.action = null;
}

function requestFor(kind, row, reason, minutes, category) {
  const attempt = row && row.attempt_id;
  switch (kind) {
    case 'admit':
      return [`/api/v1/registrations/${row.registration_id}/admit`, reason ? {note: reason} : {}];
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
  release: 'dilepaskan untuk pindah perangkat',
  incident: 'kejadian dicatat',
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
  const [path, body] = requestFor(kind, row, reason, minutes, $('action-category').value);
  const submit = $('action-submit');
  submit.disabled = true;
  try {
    await api.post(path, body);
    closeAction();
    const who = row ? row.full_name : 'Sesi';
    banner(`${who}: ${DONE_TEXT[kind]}.`, 'ok', 6);
    await refreshRoster();
    loadMinutes();
  } catch (err) {
    fieldError('action-error', describeError(err));
    submit.disabled = false;
  }
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

function init() {
  api.onUnauthorized = loginExpired;
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', logout);
  $('back-sessions').addEventListener('click', () => {
    remember(null);
    st.session = null;
    loadSessions();
  });
  $('session-incident').addEventListener('click', () => openAction('incident', null));
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
