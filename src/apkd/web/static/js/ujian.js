// The candidate's exam page (/ujian). Everything shown comes from the JSON API:
//   POST /api/v1/auth/login, POST /api/v1/sessions/{id}/attempts, GET /api/v1/attempts/{id},
//   PUT /api/v1/attempts/{id}/responses/{position} {response, seq}, POST /api/v1/attempts/{id}/submit.
// Answers are saved as they change, one request per item with a per-item `seq` that only grows;
// the remaining time is the server's `remaining_seconds`, counted down between server answers
// with a monotonic clock (performance.now), never with the PC's date and time.

import {ApiError, Client, NetworkError, describeError} from './api.js';
import {$, banner, closeDialog as hide, el, fieldError, isOpen, openDialog, setText, show, showView} from './dom.js';
import {formatDuration} from './format.js';
import {formatId, parseId} from './numbers.js';
import {Poller} from './poll.js';

const POLL_MS = 5000;
const WAIT_MS = 5000;
const TYPE_DELAY_MS = 700;
const RETRY_MAX_MS = 15000;
const CLOSED = ['submitted', 'expired', 'terminated'];
const STATUS_TEXT = {
  in_progress: 'Sedang berlangsung',
  paused: 'Dihentikan sementara',
  submitted: 'Sudah dikumpulkan',
  expired: 'Waktu habis',
  terminated: 'Dihentikan pengawas',
};
const CLOSED_TEXT = {
  submitted: ['UJIAN SELESAI', 'Jawaban Anda sudah dikumpulkan. Terima kasih.'],
  expired: ['WAKTU HABIS', 'Waktu ujian sudah habis. Jawaban yang sudah tersimpan tetap dinilai.'],
  terminated: [
    'UJIAN DIHENTIKAN',
    'Ujian Anda dihentikan oleh pengawas. Jawaban yang sudah tersimpan tetap disimpan. Hubungi pengawas.',
  ],
};

const api = new Client('ujian');
const ATTEMPT_KEY = 'apkd.ujian.attempt';
const LAST_SESSION_KEY = 'apkd.ujian.sesi';

const FONT_STEPS = [87.5, 100, 112.5, 125, 137.5, 150];
const st = {
  attempt: null, // {id, session_id, scheme_code}
  status: null,
  order: [], // positions in order
  items: new Map(), // position -> item state
  current: 1,
  clock: {remaining: null, at: 0},
  tickTimer: null,
  waitTimer: null,
  warned: new Set(), // minutes-left warnings already given (5, 1)
  brief: null, // the session's briefing while on the start page
  hold: null, // 'paused' | 'other_device' | 'offline' | null
  submitting: false,
};

// --- storage of this tab ----------------------------------------------------------------------

function remember(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch (_err) {
    // storage off: memory only
  }
}

function recall(key) {
  try {
    const raw = sessionStorage.getItem(key);
    return raw ? JSON.parse(raw) : null;
  } catch (_err) {
    return null;
  }
}

function seqKey() {
  return `apkd.ujian.seq.${st.attempt.id}`;
}

function persistSeqs() {
  const seqs = {};
  for (const [pos, s] of st.items) seqs[pos] = s.seq;
  remember(seqKey(), seqs);
}

// --- responses: local value <-> wire value ---------------------------------------------------

function wire(item, value) {
  if (item.type === 'multiple') return Array.isArray(value) && value.length ? [...value] : null;
  if (item.type === 'numeric') {
    const text = value === null || value === undefined ? '' : String(value).trim();
    return text === '' ? null : text; // the server reads it the Indonesian way, as numbers.js does
  }
  return value || null;
}

function fromServer(item, response) {
  if (response === null || response === undefined) return item.type === 'multiple' ? [] : null;
  if (item.type === 'multiple') return Array.isArray(response) ? [...response] : [];
  if (item.type === 'numeric') return formatId(response);
  return response;
}

function same(item, a, b) {
  const x = wire(item, a);
  const y = wire(item, b);
  if (x === null || y === null) return x === y;
  if (item.type === 'multiple') return [...x].sort().join('|') === [...y].sort().join('|');
  if (item.type === 'numeric') return parseId(x).value === parseId(y).value;
  return x === y;
}

// Answered with a value the server took (a refused value, e.g. "1,5", does not count).
function answered(s) {
  return !s.error && wire(s.item, s.value) !== null;
}

// --- clock -------------------------------------------------------------------------------------

function syncClock(view) {
  if (typeof view.remaining_seconds === 'number') {
    st.clock = {remaining: view.remaining_seconds, at: performance.now()};
  }
  setStatus(view.status);
  renderTimer();
}

function remainingNow() {
  if (st.clock.remaining === null) return null;
  if (st.status !== 'in_progress') return st.clock.remaining;
  const elapsed = (performance.now() - st.clock.at) / 1000;
  return Math.max(0, st.clock.remaining - elapsed);
}

function renderTimer() {
  const left = remainingNow();
  const timer = $('timer');
  timer.textContent = formatDuration(left);
  timer.classList.toggle('low', left !== null && left <= 300 && st.status === 'in_progress');
  timer.classList.toggle('frozen', st.status === 'paused');
  warnTime(left);
  if (left === 0 && st.status === 'in_progress' && !st.hold) {
    setHold('deadline');
    poll();
  } else if (left > 0 && st.hold === 'deadline') {
    setHold(null); // the proctor gave more time
  }
}

// Said once each, as the time runs low (again after an extension brings it back up).
function warnTime(left) {
  if (left === null || st.status !== 'in_progress') return;
  for (const minutes of [5, 1]) {
    if (left > minutes * 60 + 30) st.warned.delete(minutes);
    else if (left <= minutes * 60 && left > 0 && !st.warned.has(minutes)) {
      st.warned.add(minutes);
      const kind = minutes === 1 ? 'bad' : '';
      banner(
        `Sisa waktu ${minutes} menit. Periksa jawaban yang belum dijawab atau ragu-ragu, lalu kumpulkan.`,
        kind,
        20,
      );
    }
  }
}

// --- status and hold states -----------------------------------------------------------------

function setStatus(status) {
  const changed = status !== st.status;
  st.status = status;
  const pill = $('exam-status');
  pill.textContent = STATUS_TEXT[status] || status;
  pill.className = `pill ${status === 'in_progress' ? 'ok' : status === 'paused' ? 'warn' : 'bad'}`;
  if (CLOSED.includes(status)) {
    showClosed(status);
    return;
  }
  if (status === 'paused') setHold('paused');
  else if (changed && (st.hold === 'paused' || st.hold === 'deadline')) setHold(null);
  if (changed && status === 'in_progress') flushAll();
}

const HOLD_TEXT = {
  paused: [
    'UJIAN DIHENTIKAN SEMENTARA',
    'Pengawas menghentikan ujian sementara. Waktu Anda tidak berjalan. Tunggu sampai pengawas melanjutkan ujian.',
    false,
  ],
  other_device: [
    'UJIAN TERBUKA DI LOGIN LAIN',
    'Ujian ini sedang terikat pada login/perangkat lain. Minta pengawas melepaskannya; halaman ini akan melanjutkan sendiri setelahnya.',
    true,
  ],
  offline: [
    'KONEKSI TERPUTUS',
    'Server tidak dapat dihubungi. Tetap di halaman ini: jawaban yang belum tersimpan dikirim ulang otomatis begitu koneksi pulih.',
    true,
  ],
  deadline: [
    'WAKTU HABIS',
    'Waktu ujian menurut server sudah habis; jawaban tidak dapat diubah lagi. Jawaban yang masih dikirim tetap disimpan. Menunggu konfirmasi server…',
    false,
  ],
};

function setHold(kind) {
  if (kind === 'offline' && st.hold && st.hold !== 'offline') return; // a stronger state already shown
  st.hold = kind;
  const panel = $('hold-panel');
  if (!kind) {
    panel.hidden = true;
  } else {
    const [title, text, bad] = HOLD_TEXT[kind];
    setText('hold-title', title);
    setText('hold-text', text);
    panel.classList.toggle('bad', bad);
    panel.hidden = false;
  }
  const locked = kind === 'paused' || kind === 'other_device' || kind === 'deadline';
  $('item-answer').disabled = locked;
  $('flag').disabled = locked;
  $('submit-open').disabled = locked;
}

// --- saving ------------------------------------------------------------------------------------

function change(pos, value, {delay = 0, flagged} = {}) {
  const s = st.items.get(pos);
  if (!s) return;
  s.value = value;
  if (flagged !== undefined) s.flagged = flagged;
  s.seq += 1;
  s.dirty = true;
  s.error = null;
  persistSeqs();
  schedule(s, delay);
  renderMarks();
}

function schedule(s, delay) {
  clearTimeout(s.timer);
  s.timer = setTimeout(() => send(s), delay);
}

async function send(s) {
  s.timer = null;
  if (s.inflight || !s.dirty || !st.attempt) return;
  if (st.status !== 'in_progress' || st.hold === 'other_device') return; // flushed when it can be saved again
  s.inflight = true;
  const seq = s.seq;
  const value = s.value;
  let retry = null;
  renderMarks();
  try {
    const saved = await api.put(`/api/v1/attempts/${st.attempt.id}/responses/${s.item.position}`, {
      response: wire(s.item, value),
      seq,
      current_position: st.current,
      flagged: s.flagged,
    });
    s.failures = 0;
    s.staleTries = 0;
    s.base = value;
    s.savedAt = saved.saved_at;
    s.stored = saved.response === undefined ? null : saved.response;
    if (s.seq === seq) s.dirty = false;
    else retry = 0; // changed again while this one was on its way
    if (st.hold === 'offline') setHold(null);
  } catch (err) {
    retry = await saveFailed(s, err);
  } finally {
    s.inflight = false;
  }
  if (retry !== null && s.dirty) schedule(s, retry);
  renderMarks();
  if (s.item.position === st.current) renderItemState();
}

// Returns a delay before trying again, or null.
async function saveFailed(s, err) {
  if (err instanceof NetworkError || (err instanceof ApiError && err.retryable)) {
    s.failures = (s.failures || 0) + 1;
    if (err instanceof NetworkError) setHold('offline');
    return Math.min(RETRY_MAX_MS, 1000 * 2 ** Math.min(s.failures, 4));
  }
  if (!(err instanceof ApiError)) {
    s.failures = (s.failures || 0) + 1;
    return RETRY_MAX_MS;
  }
  switch (err.code) {
    case 'stale_seq':
      return resolveStale(s, err);
    case 'attempt_paused':
      setStatus('paused');
      return null;
    case 'attempt_closed':
      poll();
      return null;
    case 'other_device':
      setHold('other_device');
      return null;
    case 'attempt_moved':
      showMoved(err.detail);
      return null;
    case 'invalid_response':
    case 'invalid_seq':
    case 'item_not_found':
      s.error = err.detail;
      s.dirty = false;
      return null;
    default:
      if (err.status === 401) return null; // logged out: the login form is shown, the answer kept
      s.failures = (s.failures || 0) + 1;
      s.error = err.detail;
      return RETRY_MAX_MS;
  }
}

// The server holds a higher seq for this item. Either this tab's counter is behind (a new login
// or a lost sessionStorage: the stored answer is still the one we started from), and the change
// is sent again above the stored seq; or the stored answer is newer than ours, and it is kept.
async function resolveStale(s, err) {
  const stored = Number(err.body.stored_seq);
  s.staleTries = (s.staleTries || 0) + 1;
  let view;
  try {
    view = await api.get(`/api/v1/attempts/${st.attempt.id}`);
  } catch (_e) {
    return RETRY_MAX_MS;
  }
  syncClock(view);
  const server = view.items.find((it) => it.position === s.item.position);
  const serverValue = fromServer(s.item, server ? server.response : null);
  if (same(s.item, serverValue, s.base) && s.staleTries <= 3) {
    s.seq = Math.max(s.seq, Number.isFinite(stored) ? stored : s.seq) + 1;
    persistSeqs();
    return 0;
  }
  s.value = serverValue;
  s.base = serverValue;
  if (server && typeof server.flagged === 'boolean') s.flagged = server.flagged;
  if (Number.isFinite(stored)) s.seq = Math.max(s.seq, stored);
  s.dirty = false;
  s.staleTries = 0;
  persistSeqs();
  banner(`Jawaban soal ${s.item.position} sudah diganti dengan versi yang lebih baru di server.`, '', 8);
  if (s.item.position === st.current) renderItem();
  return null;
}

function flushAll() {
  for (const s of st.items.values()) {
    if (s.dirty && !s.inflight) schedule(s, 0);
  }
}

function unsavedCount() {
  let n = 0;
  for (const s of st.items.values()) if (s.dirty) n += 1;
  return n;
}

// --- rendering -------------------------------------------------------------------------------

function renderNav() {
  const nav = $('item-nav');
  nav.replaceChildren(
    ...st.order.map((pos) =>
      el('button', {type: 'button', dataset: {pos}, onclick: () => go(pos)}, String(pos)),
    ),
  );
  renderMarks();
}

function renderMarks() {
  let done = 0;
  for (const button of $('item-nav').children) {
    const pos = Number(button.dataset.pos);
    const s = st.items.get(pos);
    const isAnswered = answered(s);
    if (isAnswered) done += 1;
    button.className = [
      isAnswered ? 'answered' : '',
      s.flagged ? 'flagged' : '',
      s.dirty ? 'unsaved' : '',
      s.error ? 'invalid' : '',
      pos === st.current ? 'current' : '',
    ]
      .filter(Boolean)
      .join(' ');
    const notes = [isAnswered ? 'sudah dijawab' : 'belum dijawab'];
    if (s.flagged) notes.push('ragu-ragu');
    if (s.dirty) notes.push('belum tersimpan');
    if (s.error) notes.push('jawaban ditolak');
    button.setAttribute('aria-label', `Soal ${pos}, ${notes.join(', ')}`);
    if (pos === st.current) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
  setText('answered-count', `${done} dari ${st.order.length} soal sudah dijawab.`);
  const pending = unsavedCount();
  const pill = $('save-state');
  const refused = refusedPositions();
  if (refused.length) {
    pill.textContent = `Jawaban soal ${refused.join(', ')} ditolak: perbaiki`;
    pill.className = 'pill bad';
  } else if (pending === 0) {
    pill.textContent = 'Semua jawaban tersimpan';
    pill.className = 'pill ok';
  } else {
    const failing = [...st.items.values()].some((s) => s.dirty && s.failures > 0);
    pill.textContent = failing
      ? `${pending} jawaban belum tersimpan, mencoba lagi…`
      : `Menyimpan ${pending} jawaban…`;
    pill.className = `pill ${failing ? 'bad' : 'warn'}`;
  }
}

function refusedPositions() {
  return st.order.filter((pos) => st.items.get(pos).error);
}

// How a numeric answer was read ("75.000"), from the server's stored value once saved.
function readAs(s) {
  if (s.item.type !== 'numeric') return '';
  if (!s.dirty && s.stored !== undefined && s.stored !== null) return formatId(s.stored);
  const read = parseId(s.value);
  return read.error || read.value === null ? '' : formatId(read.value);
}

function renderItemState() {
  const s = st.items.get(st.current);
  fieldError('item-error', s.error);
  const line = $('item-save');
  const shown = readAs(s);
  if (s.error) {
    line.textContent = 'Jawaban ini tidak disimpan.';
    line.className = 'item-save unsaved';
  } else if (s.dirty) {
    const read = shown ? `Dibaca sebagai ${shown}. ` : '';
    line.textContent = read + (s.failures > 0 ? 'Belum tersimpan: mencoba lagi otomatis…' : 'Menyimpan…');
    line.className = 'item-save unsaved';
  } else if (s.savedAt) {
    line.textContent = shown ? `Tersimpan sebagai ${shown}` : 'Tersimpan.';
    line.className = 'item-save saved';
  } else {
    line.textContent = '';
    line.className = 'item-save';
  }
  const flag = $('flag');
  flag.setAttribute('aria-pressed', s.flagged ? 'true' : 'false');
  flag.textContent = s.flagged ? 'Ragu-ragu (ditandai)' : 'Tandai ragu-ragu';
}

function optionLetter(index) {
  return String.fromCharCode(65 + index);
}

function renderItem() {
  const s = st.items.get(st.current);
  const item = s.item;
  const index = st.order.indexOf(st.current);
  setText('item-title', `Soal ${item.position} dari ${st.order.length}`);
  setText('item-unit', item.unit ? `Unit ${item.unit}` : '');
  setText('item-stem', item.stem);
  const box = $('item-answer');
  const legend = el('legend', {class: 'sr-only'}, `Jawaban soal ${item.position}`);
  const nodes = [legend];
  const name = `soal-${item.position}`;
  if (item.type === 'single' || item.type === 'multiple') {
    const multiple = item.type === 'multiple';
    nodes.push(
      el(
        'p',
        {class: 'hint'},
        multiple ? 'Pilih semua jawaban yang benar (bisa lebih dari satu).' : 'Pilih satu jawaban.',
      ),
    );
    item.options.forEach((opt, i) => {
      const checked = multiple ? (s.value || []).includes(opt.id) : s.value === opt.id;
      const input = el('input', {
        type: multiple ? 'checkbox' : 'radio',
        name,
        value: opt.id,
        checked,
        onchange: () => {
          if (multiple) {
            const chosen = [...box.querySelectorAll('input:checked')].map((x) => x.value);
            change(item.position, chosen);
          } else {
            change(item.position, opt.id);
          }
          renderItemState();
        },
      });
      nodes.push(
        el(
          'label',
          {class: 'option'},
          input,
          el('span', {class: 'letter'}, `${optionLetter(i)}.`),
          el('span', {}, opt.text),
        ),
      );
    });
    nodes.push(
      el(
        'button',
        {
          type: 'button',
          class: 'btn-link',
          onclick: () => {
            change(item.position, multiple ? [] : null);
            renderItem();
          },
        },
        'Kosongkan jawaban',
      ),
    );
  } else {
    const id = `numeric-${item.position}`;
    const input = el('input', {
      id,
      class: 'numeric-input',
      type: 'text',
      inputmode: 'decimal',
      autocomplete: 'off',
      spellcheck: 'false',
      value: s.value === null ? '' : s.value,
      'aria-describedby': `numeric-hint-${item.position} item-save`,
      oninput: () => {
        const read = parseId(input.value);
        if (read.error) {
          // refused here as the server would: nothing is sent, the stored answer stays
          clearTimeout(s.timer);
          s.value = input.value;
          s.error = read.error;
          s.dirty = false;
          renderMarks();
          renderItemState();
          return;
        }
        change(item.position, input.value, {delay: TYPE_DELAY_MS});
        renderItemState();
      },
      onblur: () => {
        if (s.dirty && !s.inflight) schedule(s, 0);
      },
    });
    nodes.push(
      el('label', {for: id}, 'Jawaban (angka)'),
      input,
      el(
        'p',
        {class: 'hint', id: `numeric-hint-${item.position}`},
        'Tulis angka seperti biasa: titik pemisah ribuan, koma desimal, misalnya 1.500.000 atau 2,5 ("Rp" boleh ditulis).',
      ),
    );
  }
  box.replaceChildren(...nodes);
  $('prev').disabled = index <= 0;
  $('next').disabled = index >= st.order.length - 1;
  renderItemState();
  renderMarks();
}

function go(pos) {
  if (!st.items.has(pos)) return;
  const leaving = st.items.get(st.current);
  if (leaving && leaving.dirty && !leaving.inflight) schedule(leaving, 0);
  st.current = pos;
  if ($('view-exam').hidden) showView('exam');
  renderItem();
  $('item').scrollIntoView({block: 'start'});
  $('item-title').focus({preventScroll: true}); // the next Tab lands on the item's answers
}

function step(delta) {
  const i = st.order.indexOf(st.current) + delta;
  if (i >= 0 && i < st.order.length) go(st.order[i]);
}

// --- the attempt -------------------------------------------------------------------------------

function openAttempt(view) {
  stopWaiting();
  if (!st.attempt || st.attempt.id !== view.id) st.items = new Map();
  st.attempt = {id: view.id, session_id: view.session_id, scheme_code: view.scheme_code};
  remember(ATTEMPT_KEY, {id: view.id, session_id: view.session_id});
  const seqs = recall(seqKey()) || {};
  // After a new login in this tab, changes that were not saved yet are still in memory: keep them.
  const previous = st.items;
  st.items = new Map();
  st.order = [];
  for (const item of view.items) {
    const value = fromServer(item, item.response);
    const s = {
      item,
      value,
      base: value,
      stored: item.response,
      flagged: Boolean(item.flagged),
      seq: Number(seqs[item.position]) || 0,
      dirty: false,
      inflight: false,
      failures: 0,
      timer: null,
      error: null,
      savedAt: item.response === null || item.response === undefined ? null : 'server',
    };
    const old = previous.get(item.position);
    if (old && old.dirty && old.item.stem === item.stem) {
      clearTimeout(old.timer);
      Object.assign(s, {value: old.value, flagged: old.flagged, seq: Math.max(s.seq, old.seq), dirty: true});
    }
    st.items.set(item.position, s);
    st.order.push(item.position);
  }
  st.status = null;
  st.hold = null;
  st.warned = new Set();
  applyFont(recall(fontKey()));
  syncClock(view);
  if (CLOSED.includes(view.status)) return;
  st.current = st.items.has(view.current_position) ? view.current_position : st.order[0];
  showView('exam');
  setHold(view.status === 'paused' ? 'paused' : null);
  renderNav();
  renderItem();
  startTimers();
  flushAll();
}

const attemptPoller = new Poller(pollOnce, POLL_MS);
const briefPoller = new Poller(refreshBrief, WAIT_MS);

function startTimers() {
  clearInterval(st.tickTimer);
  st.tickTimer = setInterval(renderTimer, 500);
  attemptPoller.start();
}

function stopTimers() {
  clearInterval(st.tickTimer);
  st.tickTimer = null;
  attemptPoller.stop();
  briefPoller.stop();
}

function poll() {
  return attemptPoller.now();
}

async function pollOnce() {
  if (!st.attempt) return;
  try {
    const view = await api.get(`/api/v1/attempts/${st.attempt.id}`);
    if (st.hold === 'offline' || st.hold === 'other_device') setHold(null);
    syncClock(view);
    if (view.status === 'in_progress') flushAll();
  } catch (err) {
    if (err instanceof NetworkError || (err instanceof ApiError && err.retryable)) setHold('offline');
    else if (err instanceof ApiError && err.code === 'other_device') setHold('other_device');
    else if (err instanceof ApiError && err.code === 'attempt_moved') showMoved(err.detail);
  }
}

// Released by the proctor to another computer: this tab is refused for good; it stops.
function showMoved(detail) {
  stopTimers();
  stopWaiting();
  for (const s of st.items.values()) {
    clearTimeout(s.timer);
    s.dirty = false; // nothing more is sent from here
  }
  closeDialog();
  remember(ATTEMPT_KEY, null);
  st.attempt = null;
  setText('moved-text', detail || 'Ujian dipindahkan ke komputer lain — tutup halaman ini.');
  banner('');
  showView('moved');
}

function showClosed(status) {
  stopTimers();
  for (const s of st.items.values()) clearTimeout(s.timer);
  closeDialog();
  const [title, text] = CLOSED_TEXT[status] || ['UJIAN DITUTUP', 'Ujian ini sudah ditutup.'];
  $('closed-box').className = `status s-${status}`;
  setText('closed-title', title);
  setText('closed-text', text);
  const lost = unsavedCount();
  const total = st.order.length;
  let done = 0;
  for (const s of st.items.values()) if (!s.dirty && answered(s)) done += 1;
  setText(
    'closed-detail',
    `${done} dari ${total} soal terjawab dan tersimpan.` +
      (lost ? ` ${lost} perubahan terakhir tidak sempat tersimpan sebelum ujian ditutup.` : ''),
  );
  showView('closed');
  loadResult();
}

// --- the outcome, once published ---------------------------------------------------------------

const DOWNLOADS = [
  ['certificate.pdf', 'Sertifikat (PDF)'],
  ['qr.png', 'Kode QR (PNG)'],
  ['credential.json', 'Kredensial digital (JSON)'],
  ['credential.jwt', 'Kredensial digital (vc+jwt)'],
  ['badge.png', 'Lencana Open Badges (PNG)'],
  ['badge.svg', 'Lencana Open Badges (SVG)'],
];

async function loadResult() {
  const id = st.attempt && st.attempt.id;
  if (!id) return;
  let result;
  try {
    result = await api.get(`/api/v1/attempts/${id}/result`);
  } catch (err) {
    show('result-box', false);
    show('result-wait', true);
    if (err instanceof ApiError && err.code !== 'results_not_published' && err.code !== 'result_not_found') {
      setText('result-wait', describeError(err));
    }
    return;
  }
  show('result-wait', false);
  show('result-check', false);
  show('result-box', true);
  const passed = result.outcome === 'kompeten';
  const outcome = $('result-outcome');
  outcome.textContent = `${passed ? 'KOMPETEN' : 'BELUM KOMPETEN'} — nilai akhir ${formatId(result.score)}`;
  outcome.className = `result-outcome ${passed ? 'ok' : 'bad'}`;
  $('result-units').replaceChildren(
    ...result.units.map((u) =>
      el('li', {}, `Unit ${u.code}: ${formatId(u.score)} (${u.passed ? 'memenuhi' : 'belum memenuhi'})`),
    ),
  );
  if (!passed) return;
  try {
    const mine = await api.get('/api/v1/me/credentials');
    const cred = mine.find((c) => c.attempt_id === id) || mine[0];
    if (!cred) return;
    setText('cert-number', `Nomor sertifikat ${cred.number}`);
    $('cert-verify').href = `/v/${encodeURIComponent(cred.number)}`;
    if (cred.linkedin_url) {
      $('cert-linkedin').href = cred.linkedin_url;
      show('cert-linkedin', true);
    }
    $('cert-downloads').replaceChildren(
      ...DOWNLOADS.map(([file, label]) =>
        el(
          'button',
          {
            type: 'button',
            dataset: {file},
            onclick: () =>
              api
                .download(`/api/v1/credentials/${encodeURIComponent(cred.number)}/${file}`, `${cred.number}-${file}`)
                .catch((err) => banner(describeError(err), 'bad', 8)),
          },
          label,
        ),
      ),
    );
    show('cert-box', true);
  } catch (err) {
    banner(describeError(err), 'bad', 8);
  }
}

async function startExam(sessionId) {
  fieldError('start-error', '');
  try {
    const view = await api.post(`/api/v1/sessions/${sessionId}/attempts`);
    openAttempt(view);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'attempt_moved') {
      showMoved(err.detail);
      return;
    }
    if (err instanceof ApiError && err.code === 'not_admitted') {
      await openBrief(sessionId);
      return;
    }
    if (err instanceof ApiError && err.code === 'other_device') {
      // Waits for the proctor: to admit the candidate, or to release the attempt from the
      // login/computer that holds it; the next call after that opens (and binds) it.
      setText('wait-text', err.detail);
      showView('wait');
      stopWaiting();
      st.waitTimer = setTimeout(() => startExam(sessionId), WAIT_MS);
      return;
    }
    if (err instanceof ApiError && err.status === 401) return;
    showView('start');
    fieldError('start-error', describeError(err));
  }
}

// --- the start page: who, what, the rules; the clock starts only with "Mulai ujian" ----------

function renderBrief(b) {
  st.brief = b;
  setText('b-name', b.candidate.full_name);
  setText('b-nip', b.candidate.nip || '-');
  setText('b-instansi', [b.candidate.jabatan, b.candidate.instansi].filter(Boolean).join(', ') || '-');
  setText('b-scheme', `${b.scheme.title} (${b.scheme.code})`);
  setText('b-items', `${b.scheme.items} soal`);
  setText('b-duration', `${b.scheme.duration_minutes} menit`);
  setText('b-session', `${b.title}, ${b.venue}${b.seat ? ` · kursi ${b.seat}` : ''}`);
  $('b-rules').replaceChildren(...b.rules.map((r) => el('li', {}, r)));
  const start = $('brief-start');
  const closed = b.attempt_status && CLOSED.includes(b.attempt_status);
  if (b.attempt_id && !closed) {
    start.textContent = 'Lanjutkan ujian';
    start.disabled = false;
    setText('b-state', 'Ujian Anda sudah berjalan. Pilih Lanjutkan ujian.');
  } else if (closed) {
    start.textContent = 'Lihat hasil';
    start.disabled = false;
    setText('b-state', 'Ujian Anda pada sesi ini sudah selesai.');
  } else if (b.admitted) {
    start.textContent = 'Mulai ujian';
    start.disabled = false;
    setText('b-state', 'Anda sudah diizinkan masuk. Waktu mulai berjalan saat Anda memilih Mulai ujian.');
  } else {
    start.textContent = 'Mulai ujian';
    start.disabled = true;
    setText('b-state', 'Menunggu izin pengawas. Tunjukkan identitas Anda kepada pengawas; tombol Mulai ujian aktif setelah Anda diizinkan.');
  }
  if (b.admitted || b.attempt_id) briefPoller.stop();
  else if (!briefPoller.active) briefPoller.start();
}

async function openBrief(sessionId) {
  fieldError('start-error', '');
  fieldError('brief-error', '');
  try {
    const b = await api.post(`/api/v1/sessions/${sessionId}/arrival`);
    renderBrief(b);
    showView('brief');
    $('brief-title').focus();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    showView('start');
    fieldError('start-error', describeError(err));
  }
}

async function refreshBrief() {
  if (!st.brief || $('view-brief').hidden) {
    briefPoller.stop();
    return;
  }
  try {
    renderBrief(await api.get(`/api/v1/sessions/${st.brief.session_id}/briefing`));
  } catch (err) {
    if (err instanceof NetworkError) setText('b-state', err.message);
  }
}

function onBriefStart() {
  const b = st.brief;
  if (!b) return;
  briefPoller.stop();
  if (b.attempt_id && b.attempt_status && CLOSED.includes(b.attempt_status)) {
    resume({id: b.attempt_id, session_id: b.session_id});
    return;
  }
  $('brief-start').disabled = true;
  startExam(b.session_id);
}

// --- text size, remembered for the attempt -----------------------------------------------------

function fontKey() {
  return `apkd.ujian.font.${st.attempt ? st.attempt.id : 0}`;
}

function applyFont(step) {
  const i = Number.isInteger(step) ? Math.max(0, Math.min(FONT_STEPS.length - 1, step)) : 1;
  st.font = i;
  document.documentElement.style.fontSize = `${FONT_STEPS[i]}%`;
  $('font-down').disabled = i === 0;
  $('font-up').disabled = i === FONT_STEPS.length - 1;
}

function changeFont(delta) {
  applyFont((st.font ?? 1) + delta);
  remember(fontKey(), st.font);
}

// --- keyboard ----------------------------------------------------------------------------------

function onKey(ev) {
  if ($('view-exam').hidden || isOpen($('submit-dialog'))) return;
  if (ev.altKey && (ev.key === 'ArrowRight' || ev.key === 'ArrowLeft')) {
    ev.preventDefault();
    step(ev.key === 'ArrowRight' ? 1 : -1);
    return;
  }
  const target = ev.target;
  const typing = target instanceof HTMLInputElement && target.type === 'text';
  if (typing || target instanceof HTMLTextAreaElement || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const key = ev.key.toLowerCase();
  if (key === 'r' && !$('flag').disabled) {
    ev.preventDefault();
    $('flag').click();
    return;
  }
  const index = 'abcdefgh'.indexOf(key);
  if (index >= 0 && key.length === 1) {
    const inputs = $('item-answer').querySelectorAll('input[type=radio], input[type=checkbox]');
    if (inputs[index] && !$('item-answer').disabled) {
      ev.preventDefault();
      inputs[index].click();
      inputs[index].focus();
    }
  }
}

function stopWaiting() {
  clearTimeout(st.waitTimer);
  st.waitTimer = null;
}

async function resume(saved) {
  try {
    const view = await api.get(`/api/v1/attempts/${saved.id}`);
    openAttempt(view);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'attempt_moved') {
      showMoved(err.detail);
      return;
    }
    if (err instanceof ApiError && err.code === 'other_device') {
      // Once the proctor releases it, the next call binds the attempt to this login.
      if (st.attempt && st.attempt.id === saved.id && st.items.size) {
        showView('exam');
        setHold('other_device');
        startTimers();
        return;
      }
      showStart();
      fieldError('start-error', `${err.detail} Setelah dilepaskan, pilih "Lanjut" lagi.`);
      return;
    }
    if (err instanceof ApiError && err.status === 401) return;
    if (err instanceof ApiError) remember(ATTEMPT_KEY, null);
    showStart();
    fieldError('start-error', describeError(err));
  }
}

// --- submit ------------------------------------------------------------------------------------

function closeDialog() {
  const dialog = $('submit-dialog');
  if (isOpen(dialog)) hide(dialog);
}

function reviewLists() {
  const empty = [];
  const flagged = [];
  for (const pos of st.order) {
    const s = st.items.get(pos);
    if (!answered(s)) empty.push(pos);
    if (s.flagged) flagged.push(pos);
  }
  return {empty, flagged, refused: refusedPositions()};
}

function links(id, positions) {
  $(id).replaceChildren(
    ...positions.map((pos) =>
      el('li', {}, el('button', {type: 'button', class: 'btn-link', onclick: () => go(pos)}, `Soal ${pos}`)),
    ),
  );
}

function openReview() {
  const {empty, flagged, refused} = reviewLists();
  const done = st.order.length - empty.length;
  setText('review-summary', `${done} dari ${st.order.length} soal sudah dijawab.`);
  links('review-empty', empty);
  links('review-flagged', flagged);
  links('review-refused', refused);
  show('review-empty-none', empty.length === 0);
  show('review-flagged-none', flagged.length === 0);
  show('review-refused-box', refused.length > 0);
  showView('review');
  $('review-title').focus();
}

function openSubmit() {
  let done = 0;
  let flagged = 0;
  for (const s of st.items.values()) {
    if (answered(s)) done += 1;
    if (s.flagged) flagged += 1;
  }
  const empty = st.order.length - done;
  const parts = [`${done} dari ${st.order.length} soal sudah dijawab.`];
  if (empty) parts.push(`${empty} soal belum dijawab.`);
  if (flagged) parts.push(`${flagged} soal masih ditandai ragu-ragu.`);
  setText('submit-summary', parts.join(' '));
  const lists = reviewLists();
  const names = [];
  if (lists.empty.length) names.push(`Belum dijawab: soal ${lists.empty.join(', ')}.`);
  if (lists.flagged.length) names.push(`Ragu-ragu: soal ${lists.flagged.join(', ')}.`);
  setText('submit-names', names.join(' '));
  const pending = unsavedCount();
  const refused = [...st.items.values()].filter((s) => s.error).map((s) => s.item.position);
  const warnings = [];
  if (pending) warnings.push(`${pending} jawaban belum tersimpan; jawaban itu dikirim dulu sebelum ujian dikumpulkan.`);
  if (refused.length) warnings.push(`Jawaban soal ${refused.join(', ')} tidak sah dan tidak tersimpan.`);
  const warning = $('submit-warning');
  warning.textContent = warnings.join(' ');
  warning.hidden = warnings.length === 0;
  fieldError('submit-error', '');
  $('submit-confirm').disabled = false;
  openDialog($('submit-dialog'));
}

async function waitSaved(ms) {
  flushAll();
  const until = performance.now() + ms;
  while (unsavedCount() > 0 && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return unsavedCount() === 0;
}

async function confirmSubmit(ev) {
  ev.preventDefault();
  if (st.submitting) return;
  st.submitting = true;
  const button = $('submit-confirm');
  button.disabled = true;
  fieldError('submit-error', '');
  try {
    if (!(await waitSaved(10000))) {
      fieldError(
        'submit-error',
        'Masih ada jawaban yang belum tersimpan (koneksi bermasalah). Tunggu sampai semua tersimpan, lalu coba lagi.',
      );
      return;
    }
    await api.post(`/api/v1/attempts/${st.attempt.id}/submit`);
    closeDialog();
    setStatus('submitted');
  } catch (err) {
    if (err instanceof ApiError && err.code === 'attempt_closed') {
      closeDialog();
      await poll();
      return;
    }
    fieldError('submit-error', describeError(err));
  } finally {
    st.submitting = false;
    button.disabled = false;
  }
}

// --- login and start ---------------------------------------------------------------------------

function showWho() {
  setText('who-name', api.username);
  show('who', api.loggedIn);
}

function showStart() {
  showView('start');
  const params = new URLSearchParams(window.location.search);
  const input = $('session-id');
  let last = null;
  try {
    last = localStorage.getItem(LAST_SESSION_KEY);
  } catch (_err) {
    last = null;
  }
  if (!input.value) input.value = params.get('sesi') || last || '';
  const saved = recall(ATTEMPT_KEY);
  const list = $('known-list');
  list.replaceChildren();
  if (saved) {
    list.append(
      el(
        'li',
        {},
        `Sesi ${saved.session_id}, ujian nomor ${saved.id} `,
        el('button', {type: 'button', onclick: () => resume(saved)}, 'Buka'),
      ),
    );
  }
  show('known-box', Boolean(saved));
  input.focus();
}

async function afterLogin() {
  showWho();
  const saved = recall(ATTEMPT_KEY);
  if (saved) await resume(saved);
  else showStart();
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
    if (token.role !== 'candidate') {
      api.clear();
      fieldError('login-error', 'Akun ini bukan akun peserta ujian. Pengawas memakai halaman /pengawas.');
      return;
    }
    await afterLogin();
  } catch (err) {
    fieldError('login-error', describeError(err));
  }
}

function onStart(ev) {
  ev.preventDefault();
  const raw = $('session-id').value.trim();
  if (!/^[0-9]{1,9}$/.test(raw) || Number(raw) < 1) {
    fieldError('start-error', 'Nomor sesi berupa angka, misalnya 12. Tanyakan kepada pengawas.');
    return;
  }
  try {
    localStorage.setItem(LAST_SESSION_KEY, raw);
  } catch (_err) {
    // not remembered
  }
  openBrief(Number(raw));
}

function logout() {
  const open = st.attempt && !CLOSED.includes(st.status);
  if (
    open &&
    !window.confirm(
      'Keluar dari ujian? Ujian tetap berjalan. Bila Anda masuk lagi, pengawas harus melepaskan ujian Anda terlebih dahulu.',
    )
  ) {
    return;
  }
  stopTimers();
  stopWaiting();
  for (const s of st.items.values()) clearTimeout(s.timer);
  api.clear();
  remember(ATTEMPT_KEY, null);
  st.attempt = null;
  st.items = new Map();
  show('who', false);
  showView('login');
}

function loginExpired() {
  // The token is no longer accepted: unsaved answers stay in memory and are sent after a new login.
  api.clear();
  show('who', false);
  stopTimers();
  stopWaiting();
  showView('login');
  fieldError(
    'login-error',
    'Sesi login berakhir. Masuk lagi; bila ujian sudah dimulai, minta pengawas melepaskannya.',
  );
}

function init() {
  api.onUnauthorized = loginExpired;
  $('login-form').addEventListener('submit', onLogin);
  $('start-form').addEventListener('submit', onStart);
  $('wait-cancel').addEventListener('click', () => {
    stopWaiting();
    showStart();
  });
  $('brief-start').addEventListener('click', onBriefStart);
  $('brief-back').addEventListener('click', () => {
    briefPoller.stop();
    showStart();
  });
  $('font-down').addEventListener('click', () => changeFont(-1));
  $('font-up').addEventListener('click', () => changeFont(1));
  $('review-back').addEventListener('click', () => go(st.current));
  $('review-submit').addEventListener('click', openSubmit);
  $('result-check').addEventListener('click', loadResult);
  document.addEventListener('keydown', onKey);
  $('prev').addEventListener('click', () => step(-1));
  $('next').addEventListener('click', () => step(1));
  $('flag').addEventListener('click', () => {
    const s = st.items.get(st.current);
    change(st.current, s.value, {flagged: !s.flagged});
    renderItemState();
  });
  $('submit-open').addEventListener('click', openReview);
  $('submit-form').addEventListener('submit', confirmSubmit);
  $('submit-cancel').addEventListener('click', closeDialog);
  $('logout').addEventListener('click', logout);
  $('closed-logout').addEventListener('click', logout);
  window.addEventListener('online', () => {
    flushAll();
    poll();
  });
  window.addEventListener('beforeunload', (ev) => {
    if (unsavedCount() > 0) {
      ev.preventDefault();
      ev.returnValue = '';
    }
  });
  if (api.loggedIn) {
    api
      .refresh()
      .then(afterLogin)
      .catch((err) => {
        if (err instanceof ApiError) return; // 401: the login form is already shown
        afterLogin(); // offline: carry on with the token we have
      });
  } else {
    showView('login');
  }
}

init();
