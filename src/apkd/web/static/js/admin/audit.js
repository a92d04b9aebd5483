// The console's audit tab: the audit trail with filters (GET /api/v1/audit), the chain check
// (GET /api/v1/audit/verify), and the transparency log's checkpoint checked against the last one
// this browser saw (kept in localStorage) with a consistency proof verified here (RFC 9162 2.1.4.2).
import {describeError} from '../api.js';
import {$, el, setText, show} from '../dom.js';

const st = {api: null, page: 1, filter: null};
const SEEN_KEY = 'apkd.admin.log.checkpoint';
// What the common actions mean, in Indonesian (the code stays beside it: it is what filters use).
const ACTIONS = {
  'user.created': 'akun dibuat',
  'user.password_changed': 'kata sandi diganti',
  'user.password_reset': 'kata sandi disetel ulang',
  'bank.imported': 'bank soal diimpor',
  'scheme.retired': 'versi skema dipensiunkan',
  'session.created': 'sesi dibuat',
  'session.updated': 'sesi diubah',
  'registration.created': 'peserta didaftarkan',
  'registration.imported': 'peserta diimpor',
  'login_slips.printed': 'kartu login dicetak',
  'attempt.submitted': 'ujian dikumpulkan',
  'attempt.expired': 'ujian habis waktu',
  'incident.reported': 'kejadian dilaporkan',
  'results.published': 'hasil diterbitkan',
  'item.key_corrected': 'kunci jawaban dikoreksi',
  'result.regraded': 'hasil dinilai ulang',
  'credentials.issued': 'sertifikat diterbitkan',
  'credential.revoked': 'sertifikat dicabut',
  'credential.suspended': 'sertifikat dibekukan',
  'credential.reinstated': 'sertifikat dipulihkan',
  'keys.rotated': 'kunci dirotasi',
  'keys.compromised': 'kunci ditandai bocor',
  'appeal.lodged': 'banding diajukan',
  'appeal.decided': 'banding diputus',
  'complaint.lodged': 'pengaduan masuk',
  'complaint.decided': 'pengaduan diputus',
};
const actionText = (code) => (ACTIONS[code] ? `${ACTIONS[code]} (${code})` : code);
const when = (iso) => new Date(iso).toLocaleString('id-ID', {dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Asia/Makassar'});

// --- RFC 9162 consistency, in the browser ---------------------------------------------------------

const fromB64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

async function nodeHash(left, right) {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 1;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}

// Is the tree (second, secondRoot) an append-only extension of (first, firstRoot)?
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first > second) return false;
  if (first === second) return proof.length === 0 && same(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = [...proof];
  if ((first & (first - 1)) === 0) path.unshift(firstRoot);
  let fn = first - 1;
  let sn = second - 1;
  while (fn & 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!(fn & 1) && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return same(fr, firstRoot) && same(sr, secondRoot) && sn === 0;
}

function lastSeen() {
  try {
    return JSON.parse(localStorage.getItem(SEEN_KEY) || 'null');
  } catch (_err) {
    return null;
  }
}

function facts(cp, seen) {
  const rows = [
    ['Ukuran log sekarang', `${cp.tree_size} entri`],
    ['Hash akar', cp.root_hash],
    ['Waktu checkpoint', `${when(new Date(cp.timestamp).toISOString())} WITA`],
    ['Terakhir dilihat peramban ini', seen ? `${seen.tree_size} entri, ${seen.root_hash}` : 'belum pernah'],
  ];
  $('log-facts').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {class: k === 'Hash akar' || k.startsWith('Terakhir') ? 'mono wrap' : ''}, v)]));
}

export async function checkLog(api) {
  const verdict = $('log-verdict');
  verdict.className = 'big-status';
  try {
    const cp = await api.get('/api/v1/log/checkpoint');
    const seen = lastSeen();
    facts(cp, seen);
    let ok = true;
    let text;
    if (!seen) {
      text = `Checkpoint pertama yang dilihat peramban ini: ${cp.tree_size} entri. Disimpan untuk pemeriksaan berikutnya.`;
    } else if (cp.tree_size < seen.tree_size) {
      ok = false;
      text = `PERINGATAN: log kini lebih kecil (${cp.tree_size} entri) daripada yang pernah dilihat (${seen.tree_size} entri).`;
    } else if (cp.tree_size === seen.tree_size) {
      ok = cp.root_hash === seen.root_hash;
      text = ok
        ? `Konsisten: log tidak berubah sejak terakhir dilihat (${cp.tree_size} entri).`
        : `PERINGATAN: ukuran log sama (${cp.tree_size} entri) tetapi hash akarnya berbeda: riwayat ditulis ulang.`;
    } else {
      const proof = await api.get(`/api/v1/log/proof/consistency?first=${seen.tree_size}&second=${cp.tree_size}`);
      ok = await verifyConsistency(seen.tree_size, cp.tree_size, fromB64(seen.root_hash), fromB64(cp.root_hash), proof.path.map(fromB64));
      text = ok
        ? `Konsisten: bukti konsistensi dari ${seen.tree_size} ke ${cp.tree_size} entri sah (diperiksa di peramban ini); log hanya bertambah.`
        : `PERINGATAN: bukti konsistensi dari ${seen.tree_size} ke ${cp.tree_size} entri TIDAK sah: log mungkin ditulis ulang.`;
    }
    verdict.textContent = text;
    verdict.classList.add(ok ? 'ok-text' : 'bad-text');
    // only a checkpoint proven consistent replaces the one remembered
    if (ok) localStorage.setItem(SEEN_KEY, JSON.stringify({tree_size: cp.tree_size, root_hash: cp.root_hash, timestamp: cp.timestamp}));
  } catch (err) {
    verdict.textContent = `Log transparansi tidak dapat diperiksa: ${describeError(err)}`;
    verdict.classList.add('bad-text');
  }
}

// --- chain and trail ------------------------------------------------------------------------------

async function checkChain() {
  const verdict = $('chain-verdict');
  verdict.className = 'big-status';
  verdict.textContent = 'Memeriksa…';
  try {
    const r = await st.api.get('/api/v1/audit/verify');
    verdict.textContent = r.message;
    verdict.classList.add(r.ok ? 'ok-text' : 'bad-text');
  } catch (err) {
    verdict.textContent = describeError(err);
    verdict.classList.add('bad-text');
  }
}

function filterQuery() {
  const q = new URLSearchParams();
  const actor = $('aud-actor').value.trim();
  const action = $('aud-action').value;
  const from = $('aud-from').value;
  const to = $('aud-to').value;
  if (actor) q.set('actor', actor);
  if (action) q.set('action', action);
  if (from) q.set('since', `${from}T00:00:00+08:00`);
  if (to) {
    const next = new Date(`${to}T00:00:00+08:00`);
    next.setUTCDate(next.getUTCDate() + 1);
    q.set('until', next.toISOString());
  }
  return q;
}

function detailsText(d) {
  if (d === null || d === undefined) return '-';
  const text = typeof d === 'string' ? d : JSON.stringify(d);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

async function loadTrail(more) {
  if (!more) {
    st.page = 1;
    st.filter = filterQuery();
  }
  const q = new URLSearchParams(st.filter);
  q.set('page', String(st.page));
  q.set('per_page', '50');
  try {
    const r = await st.api.get(`/api/v1/audit?${q}`);
    const select = $('aud-action');
    if (select.options.length <= 1) for (const a of r.actions) select.append(el('option', {value: a}, actionText(a)));
    const rows = r.items.map((e) =>
      el(
        'tr',
        {},
        el('th', {scope: 'row'}, String(e.seq)),
        el('td', {}, when(e.at)),
        el('td', {}, e.actor || '-'),
        el('td', {}, actionText(e.action)),
        el('td', {}, `${e.subject_type} ${e.subject_id}`),
        el('td', {class: 'mono wrap small'}, detailsText(e.details)),
      ),
    );
    if (more) $('aud-body').append(...rows);
    else $('aud-body').replaceChildren(...rows);
    const shown = $('aud-body').children.length;
    setText('aud-summary', `${r.total} peristiwa cocok; ${shown} ditampilkan, terbaru lebih dulu.`);
    show('aud-more', shown < r.total);
  } catch (err) {
    setText('aud-summary', describeError(err));
  }
}

export async function loadAudit(api) {
  st.api = api;
  await Promise.all([checkLog(api), loadTrail(false)]);
}

export function initAudit(api) {
  st.api = api;
  $('aud-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadTrail(false);
  });
  $('aud-more').addEventListener('click', () => {
    st.page += 1;
    loadTrail(true);
  });
  $('chain-check').addEventListener('click', checkChain);
  $('log-check').addEventListener('click', () => checkLog(st.api));
}
