// The certification body's console (/admin): coverage with drill-down, renewal list, officer
// search, candidates import with preview and login slips, credentials and their status changes.
// Every datum comes from the JSON API, which decides who sees what (a viewer only its region).
import {ApiError, Client, describeError} from './api.js';
import {$, banner, closeDialog, el, fieldError, openDialog, setText, show, showView} from './dom.js';
import {initCorrections} from './admin/corrections.js';
import {initAudit, loadAudit} from './admin/audit.js';
import {initKeys, loadKeys} from './admin/keys.js';
import {loadResults} from './admin/results.js';
import {initSchemes, loadSchemes as loadSchemeTable} from './admin/schemes.js';
import {initSessions, loadSessions} from './admin/sessions.js';
import {initSites, loadSites} from './admin/sites.js';

const api = new Client('admin');
const ROLES = new Set(['admin', 'auditor', 'viewer']);
const STATUS = {valid: 'berlaku', revoked: 'dicabut', suspended: 'dibekukan', expired: 'kedaluwarsa'};
const ACTION = {create: 'buat akun dan daftarkan', register: 'daftarkan', already_registered: 'sudah terdaftar'};
const LEVEL_NEXT = {province: 'regency', regency: 'instansi'};
const st = {cov: {level: 'province', province: null, regency: null}, rows: [], sort: {key: 'key', dir: 1}, reason: null};

const dateText = (iso) =>
  new Date(iso).toLocaleDateString('id-ID', {day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Asia/Makassar'});

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

// --- tabs ------------------------------------------------------------------------------------------

function openTab(name) {
  for (const tab of document.querySelectorAll('.tab')) tab.setAttribute('aria-pressed', String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll('.panel')) panel.hidden = panel.id !== `panel-${name}`;
  if (name === 'coverage') loadCoverage();
  if (name === 'renewals') loadRenewals();
  if (name === 'sites') loadSites(api);
  if (name === 'sessions') loadSessions(api);
  if (name === 'banks') loadSchemeTable(api);
  if (name === 'keys') loadKeys(api);
  if (name === 'audit') loadAudit(api);
}

// --- coverage --------------------------------------------------------------------------------------

function areaName(row) {
  if (row.level === 'province') return `Provinsi ${row.key}`;
  if (row.level === 'regency') return `Kab/Kota ${row.key}`;
  return row.key;
}

function renderCrumbs() {
  const list = $('cov-crumbs');
  list.replaceChildren();
  const {province, regency} = st.cov;
  const crumbs = [['Semua provinsi', {level: 'province', province: null, regency: null}]];
  if (province) crumbs.push([`Provinsi ${province}`, {level: 'regency', province, regency: null}]);
  if (regency) crumbs.push([`Kab/Kota ${regency}`, {level: 'instansi', province, regency}]);
  crumbs.forEach(([label, target], i) => {
    const last = i === crumbs.length - 1;
    list.append(
      el(
        'li',
        {},
        last
          ? el('span', {'aria-current': 'page'}, label)
          : el('button', {type: 'button', class: 'btn-link', onclick: () => drill(target)}, label),
      ),
    );
  });
}

function bar(value, max, label) {
  const width = max ? Math.round((value / max) * 100) : 0;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 100 8');
  svg.setAttribute('class', 'bar');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const rect = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  rect.setAttribute('width', String(width));
  rect.setAttribute('height', '8');
  svg.append(rect);
  return el('span', {class: 'bar-cell'}, el('span', {class: 'num', title: label}, String(value)), svg);
}

function renderCoverage() {
  const body = $('cov-body');
  body.replaceChildren();
  const {key, dir} = st.sort;
  const rows = [...st.rows].sort((a, b) => (a[key] > b[key] ? dir : a[key] < b[key] ? -dir : 0));
  const max = Math.max(1, ...rows.map((r) => r.certified));
  for (const row of rows) {
    const next = LEVEL_NEXT[row.level];
    const name = next
      ? el('button', {type: 'button', class: 'btn-link', onclick: () => drillInto(row)}, areaName(row))
      : areaName(row);
    body.append(
      el(
        'tr',
        {},
        el('th', {scope: 'row'}, name),
        el('td', {}, row.scheme_code),
        el('td', {}, bar(row.certified, max, 'bersertifikat')),
        el('td', {}, String(row.expiring)),
        el('td', {}, String(row.suspended)),
        el('td', {}, String(row.revoked)),
        el('td', {}, String(row.not_passed)),
      ),
    );
  }
  show('cov-empty', rows.length === 0);
  for (const button of document.querySelectorAll('button.sort')) {
    const th = button.closest('th');
    th.setAttribute('aria-sort', button.dataset.key === key ? (dir > 0 ? 'ascending' : 'descending') : 'none');
  }
}

function drillInto(row) {
  if (row.level === 'province') drill({level: 'regency', province: row.key, regency: null});
  else if (row.level === 'regency') drill({level: 'instansi', province: row.key.slice(0, 2), regency: row.key});
}

function drill(target) {
  st.cov = target;
  loadCoverage();
}

async function loadCoverage() {
  renderCrumbs();
  try {
    const {level, province, regency} = st.cov;
    const report = await api.get(`/api/v1/coverage${query({level, province, regency, scheme: $('cov-scheme').value})}`);
    st.rows = report.rows;
    setText(
      'cov-scope',
      report.scope
        ? `Akun ini melihat pegawai kabupaten/kota ${report.scope} saja.`
        : 'Seluruh wilayah. Klik nama wilayah untuk melihat rinciannya.',
    );
    renderCoverage();
  } catch (err) {
    banner(describeError(err), 'bad', 8);
  }
}

async function loadSchemes() {
  try {
    const schemes = await api.get('/api/v1/schemes');
    const select = $('cov-scheme');
    for (const s of schemes) select.append(el('option', {value: s.code}, `${s.code} - ${s.title}`));
  } catch (_err) {
    // the table works without the filter
  }
}

// --- renewals --------------------------------------------------------------------------------------

function renewalMonths() {
  const months = Number($('ren-months').value);
  return Number.isInteger(months) && months >= 1 && months <= 60 ? months : 6;
}

async function loadRenewals() {
  try {
    const page = await api.get(`/api/v1/renewals${query({months: renewalMonths(), per_page: 500})}`);
    const body = $('ren-body');
    body.replaceChildren(
      ...page.items.map((r) =>
        el(
          'tr',
          {},
          el('td', {class: 'mono'}, r.nip || '-'),
          el('td', {}, r.full_name),
          el('td', {}, r.instansi || '-'),
          el('td', {}, r.scheme_code),
          el('td', {class: 'mono'}, r.number),
          el('td', {}, dateText(r.valid_until)),
        ),
      ),
    );
    setText('ren-count', `${page.total} sertifikat berakhir dalam ${renewalMonths()} bulan.`);
  } catch (err) {
    banner(describeError(err), 'bad', 8);
  }
}

// --- officers --------------------------------------------------------------------------------------

async function searchOfficers(ev) {
  ev.preventDefault();
  fieldError('off-error', '');
  const q = $('off-q').value.trim();
  if (q.length < 3) {
    fieldError('off-error', 'Ketik paling sedikit 3 karakter NIP atau nama.');
    return;
  }
  try {
    const officers = await api.get(`/api/v1/officers${query({q})}`);
    const out = $('off-results');
    out.replaceChildren();
    if (!officers.length) out.append(el('p', {class: 'muted'}, 'Tidak ada pegawai yang cocok.'));
    for (const o of officers) {
      const history = el('ul', {class: 'plain'});
      for (const a of o.attempts) {
        const result = a.score === null ? 'belum dinilai' : `nilai ${a.score}, ${a.outcome === 'kompeten' ? 'kompeten' : 'belum kompeten'}`;
        history.append(el('li', {}, `Ujian ${a.scheme_code} (sesi ${a.session_id}, ${a.session_title}), ${dateText(a.started_at)}: ${result}`));
      }
      for (const c of o.credentials) {
        history.append(el('li', {}, `Sertifikat ${c.number}: ${STATUS[c.status] || c.status}, berlaku sampai ${dateText(c.valid_until)}`));
      }
      if (!history.children.length) history.append(el('li', {class: 'muted'}, 'Belum pernah ujian.'));
      out.append(
        el('article', {class: 'officer'}, el('h2', {}, o.full_name), el('p', {}, `NIP ${o.nip || '-'} · ${o.jabatan || '-'} · ${o.instansi || '-'}`), history),
      );
    }
  } catch (err) {
    fieldError('off-error', describeError(err));
  }
}

// --- banks ---------------------------------------------------------------------------------------

async function checkBank(apply) {
  const file = $('bank-file').files[0];
  if (!file) {
    setText('bank-summary', 'Pilih berkas bank soal dulu.');
    return;
  }
  const body = {filename: file.name, text: await file.text()};
  let report;
  try {
    report = await api.post(apply ? '/api/v1/banks/import' : '/api/v1/banks/check', body);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'bank_invalid') report = {ok: false, filename: file.name, errors: err.body.errors || [], units: []};
    else {
      setText('bank-summary', describeError(err));
      return;
    }
  }
  $('bank-errors').replaceChildren(...report.errors.map((e) => el('li', {class: 'error-row'}, `${report.filename}:${e.line}: ${e.message}`)));
  $('bank-units').replaceChildren(
    ...report.units.map((u) => el('tr', {}, el('td', {}, u.code), el('td', {}, String(u.items)), el('td', {}, String(u.items_per_form)))),
  );
  setText(
    'bank-summary',
    report.ok
      ? report.imported
        ? `Diimpor: ${report.imported}`
        : `Lolos pemeriksaan: skema ${report.scheme_code} versi ${report.version}, ${report.items} soal${report.drafts ? ` (${report.drafts} belum ditelaah)` : ''}.`
      : `Ditolak: ${report.errors.length} kesalahan. Tidak ada yang diimpor.`,
  );
  $('bank-import').disabled = !report.ok || Boolean(report.imported);
  if (report.imported) loadSchemeTable(api);
}

// --- results and item analysis -----------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

// Facility (x, 0..1) against point-biserial (y, -0.5..1); flagged items in red.
function analysisChart(items) {
  const W = 480, H = 300, L = 48, B = 40, T = 10, R = 10;
  const x = (p) => L + p * (W - L - R);
  const y = (r) => T + (1 - (Math.max(-0.5, Math.min(1, r)) + 0.5) / 1.5) * (H - T - B);
  const svg = svgEl('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-labelledby': 'res-chart-title'});
  const title = svgEl('title', {id: 'res-chart-title'});
  title.textContent = `Diagram sebar ${items.length} butir: tingkat kemudahan terhadap daya beda`;
  svg.append(title);
  svg.append(svgEl('line', {x1: L, y1: y(0), x2: W - R, y2: y(0), class: 'axis'}));
  svg.append(svgEl('line', {x1: L, y1: T, x2: L, y2: H - B, class: 'axis'}));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const label = svgEl('text', {x: x(t), y: H - B + 16, 'text-anchor': 'middle'});
    label.textContent = String(t).replace('.', ',');
    svg.append(label);
  }
  for (const t of [-0.5, 0, 0.5, 1]) {
    const label = svgEl('text', {x: L - 6, y: y(t) + 4, 'text-anchor': 'end'});
    label.textContent = String(t).replace('.', ',');
    svg.append(label);
  }
  const xl = svgEl('text', {x: (L + W) / 2, y: H - 4, 'text-anchor': 'middle'});
  xl.textContent = 'p (tingkat kemudahan)';
  svg.append(xl);
  for (const it of items) {
    if (it.p === null || it.point_biserial === null) continue;
    const dot = svgEl('circle', {cx: x(it.p), cy: y(it.point_biserial), r: 5, class: it.flags.length ? 'flagged' : 'ok'});
    const tip = svgEl('title', {});
    tip.textContent = `${it.external_id}: p ${it.p.toFixed(2)}, rpb ${it.point_biserial.toFixed(2)}${it.flags.length ? ' (ditandai)' : ''}`;
    dot.append(tip);
    svg.append(dot);
  }
  return svg;
}

async function loadAnalysis(ev) {
  if (ev) ev.preventDefault();
  const sid = sessionNumber('res-session');
  if (!sid) {
    setText('res-summary', 'Isi nomor sesi.');
    return;
  }
  loadResults(api, sid); // the candidates' results and the score distribution, beside the analysis
  try {
    const report = await api.get(`/api/v1/sessions/${sid}/item-analysis`);
    setText('res-summary', `Skema ${report.scheme_code}: ${report.attempts} peserta dinilai, ${report.items.length} butir.`);
    const fmt = (v) => (v === null ? '-' : v.toFixed(2).replace('.', ','));
    $('res-body').replaceChildren(
      ...report.items.map((it) =>
        el(
          'tr',
          {class: it.flags.length ? 'flagged-row' : ''},
          el('th', {scope: 'row'}, it.external_id),
          el('td', {}, it.unit),
          el('td', {}, String(it.n)),
          el('td', {}, fmt(it.p)),
          el('td', {}, fmt(it.point_biserial)),
          el('td', {}, it.flags.length ? `Ditandai: ${it.flag_texts.join('; ')}` : '-'),
        ),
      ),
    );
    $('res-chart').replaceChildren(analysisChart(report.items));
    show('res-figure', report.items.length > 0);
  } catch (err) {
    setText('res-summary', describeError(err));
  }
}

// The confirmation shows what the API says publishing will do now (nothing is written).
async function askPublish() {
  const sid = sessionNumber('res-session');
  if (!sid) {
    setText('res-summary', 'Isi nomor sesi.');
    return;
  }
  let p;
  try {
    p = await api.get(`/api/v1/sessions/${sid}/publish/preview`);
  } catch (err) {
    setText('res-summary', describeError(err));
    return;
  }
  const list = $('confirm-list');
  const items = [
    `${p.to_grade} ujian yang sudah ditutup akan dinilai; ${p.would_pass} di antaranya lulus (kompeten).`,
    `${p.credentials_to_issue} sertifikat akan diterbitkan dan dicatat di log transparansi.`,
  ];
  if (p.overdue) items.push(`${p.overdue} ujian yang lewat batas waktu akan ditutup lalu ikut dinilai.`);
  if (p.still_open) items.push(`${p.still_open} ujian masih berjalan dan belum dinilai; terbitkan lagi setelah selesai.`);
  if (p.already_graded) items.push(`Sudah dinilai sebelumnya: ${p.already_graded} ujian, ${p.already_passed} lulus (tidak dinilai ulang).`);
  list.replaceChildren(...items.map((t) => el('li', {}, t)));
  setText(
    'confirm-text',
    p.may_publish
      ? `Hasil sesi ${sid} dapat dilihat peserta setelah diterbitkan. Menerbitkan ulang tidak menerbitkan sertifikat dua kali.`
      : `Anda tidak dapat menerbitkan hasil sesi ini: ${p.refusal}`,
  );
  $('confirm-ok').disabled = !p.may_publish;
  openDialog($('confirm-dialog'));
}

async function publish(ev) {
  ev.preventDefault();
  closeDialog($('confirm-dialog'));
  const sid = sessionNumber('res-session');
  try {
    const out = await api.post(`/api/v1/sessions/${sid}/publish`);
    setText('res-summary', `Diterbitkan: ${out.graded} dinilai, ${out.passed} lulus, ${out.credentials_issued} sertifikat terbit${out.still_open ? `; ${out.still_open} ujian masih berjalan` : ''}.`);
    await loadAnalysis();
  } catch (err) {
    setText('res-summary', describeError(err));
  }
}

// --- candidates import -----------------------------------------------------------------------------

function sessionNumber(id) {
  const n = Number($(id).value);
  return Number.isInteger(n) && n > 0 ? n : null;
}

async function runImport(apply) {
  fieldError('imp-error', '');
  const sid = sessionNumber('imp-session');
  const file = $('imp-file').files[0];
  const text = file ? await file.text() : $('imp-text').value;
  if (!sid || !text.trim()) {
    fieldError('imp-error', 'Isi nomor sesi dan pilih atau tempel berkas CSV.');
    return;
  }
  try {
    const report = await api.post(`/api/v1/sessions/${sid}/candidates/import`, {csv: text, apply});
    renderImport(report);
    $('imp-apply').disabled = apply || report.rows.every((r) => r.action === 'already_registered');
  } catch (err) {
    fieldError('imp-error', describeError(err));
  }
}

function renderImport(report) {
  const errors = $('imp-errors');
  errors.replaceChildren(...report.errors.map((e) => el('li', {class: 'error-row'}, `Baris ${e.line}: ${e.message}`)));
  show('imp-errors-title', report.errors.length > 0);
  $('imp-body').replaceChildren(
    ...report.rows.map((r) =>
      el(
        'tr',
        {},
        el('td', {}, String(r.line)),
        el('td', {class: 'mono'}, r.nip),
        el('td', {}, r.full_name),
        el('td', {class: 'mono'}, r.username),
        el('td', {}, ACTION[r.action] || r.action),
        el('td', {class: 'mono'}, r.initial_password || '-'),
      ),
    ),
  );
  setText(
    'imp-summary',
    report.applied
      ? `Selesai: ${report.created} akun dibuat, ${report.registered} peserta didaftarkan, ${report.skipped} sudah terdaftar, ${report.errors.length} baris ditolak.`
      : `Pratinjau: ${report.rows.length} baris baik, ${report.errors.length} baris ditolak. Belum ada yang disimpan.`,
  );
}

async function loginSlips() {
  const sid = sessionNumber('imp-session');
  if (!sid) {
    fieldError('imp-error', 'Isi nomor sesi.');
    return;
  }
  try {
    await api.download(`/api/v1/sessions/${sid}/login-slips`, `kartu-login-sesi-${sid}.pdf`, {method: 'POST', body: {}});
  } catch (err) {
    fieldError('imp-error', describeError(err));
  }
}

// --- credentials -----------------------------------------------------------------------------------

async function loadCredentials(ev) {
  if (ev) ev.preventDefault();
  const sid = sessionNumber('cred-session');
  try {
    const creds = await api.get(`/api/v1/credentials${query({session_id: sid})}`);
    $('cred-body').replaceChildren(
      ...creds.map((c) => {
        const actions = el('td', {class: 'actions'});
        const add = (label, action) =>
          actions.append(el('button', {type: 'button', onclick: () => askReason(c.number, action, label)}, label));
        if (c.status === 'valid') {
          add('Cabut', 'revoke');
          add('Bekukan', 'suspend');
        } else if (c.status === 'suspended') {
          add('Pulihkan', 'reinstate');
          add('Cabut', 'revoke');
        }
        return el(
          'tr',
          {},
          el('td', {class: 'mono'}, c.number),
          el('td', {}, c.holder.full_name),
          el('td', {}, c.scheme.code),
          el('td', {class: `status-${c.status}`}, STATUS[c.status] || c.status),
          el('td', {}, dateText(c.valid_until)),
          actions,
        );
      }),
    );
  } catch (err) {
    banner(describeError(err), 'bad', 8);
  }
}

function askReason(number, action, label) {
  st.reason = {number, action};
  setText('reason-title', `${label} sertifikat ${number}`);
  $('reason-text').value = '';
  fieldError('reason-error', '');
  openDialog($('reason-dialog'));
  $('reason-text').focus();
}

async function submitReason(ev) {
  ev.preventDefault();
  const reason = $('reason-text').value.trim();
  if (!reason) {
    fieldError('reason-error', 'Alasan wajib diisi.');
    return;
  }
  try {
    const {number, action} = st.reason;
    const out = await api.post(`/api/v1/credentials/${encodeURIComponent(number)}/${action}`, {reason});
    closeDialog($('reason-dialog'));
    banner(`Sertifikat ${out.number} kini ${STATUS[out.status] || out.status}.`, 'ok', 6);
    await loadCredentials();
  } catch (err) {
    fieldError('reason-error', describeError(err));
  }
}

// --- login -----------------------------------------------------------------------------------------

async function afterLogin() {
  setText('who-name', `${api.username} (${api.role})`);
  show('who', true);
  for (const node of document.querySelectorAll('.admin-only')) node.hidden = api.role !== 'admin';
  for (const node of document.querySelectorAll('.staff-only')) node.hidden = api.role === 'viewer';
  showView('console');
  openTab('coverage'); // first: a tab chosen while the schemes load is not switched back
  await loadSchemes();
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
    if (!ROLES.has(token.role)) {
      api.clear();
      fieldError('login-error', 'Akun ini tidak berhak membuka konsol. Peserta memakai /ujian, pengawas /pengawas.');
      return;
    }
    await afterLogin();
  } catch (err) {
    fieldError('login-error', describeError(err));
  }
}

function logout() {
  api.clear();
  show('who', false);
  showView('login');
}

function init() {
  api.onUnauthorized = () => {
    logout();
    fieldError('login-error', 'Sesi login berakhir. Silakan masuk lagi.');
  };
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', logout);
  for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => openTab(tab.dataset.tab));
  for (const button of document.querySelectorAll('button.sort')) {
    button.addEventListener('click', () => {
      const key = button.dataset.key;
      st.sort = {key, dir: st.sort.key === key ? -st.sort.dir : key === 'key' || key === 'scheme_code' ? 1 : -1};
      renderCoverage();
    });
  }
  $('cov-scheme').addEventListener('change', loadCoverage);
  $('cov-export').addEventListener('click', () =>
    api
      .download(`/api/v1/exports/credentials.csv${query({regency: st.cov.regency, scheme: $('cov-scheme').value})}`, 'sertifikat-berlaku.csv')
      .catch((err) => banner(describeError(err), 'bad', 8)),
  );
  $('ren-load').addEventListener('click', loadRenewals);
  $('ren-csv').addEventListener('click', () =>
    api.download(`/api/v1/renewals.csv${query({months: renewalMonths()})}`, 'rencana-perpanjangan.csv').catch((err) => banner(describeError(err), 'bad', 8)),
  );
  $('off-form').addEventListener('submit', searchOfficers);
  $('imp-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    runImport(false);
  });
  $('imp-apply').addEventListener('click', () => runImport(true));
  $('imp-slips').addEventListener('click', loginSlips);
  $('cred-form').addEventListener('submit', loadCredentials);
  $('cred-zip').addEventListener('click', () => {
    const sid = sessionNumber('cred-session');
    if (!sid) {
      banner('Isi nomor sesi untuk mengunduh sertifikatnya.', 'bad', 6);
      return;
    }
    api.download(`/api/v1/sessions/${sid}/certificates.zip`, `sertifikat-sesi-${sid}.zip`).catch((err) => banner(describeError(err), 'bad', 8));
  });
  $('cred-pdf').addEventListener('click', () => {
    const sid = sessionNumber('cred-session');
    if (!sid) {
      banner('Isi nomor sesi untuk mengunduh sertifikatnya.', 'bad', 6);
      return;
    }
    api.download(`/api/v1/sessions/${sid}/certificates.pdf`, `sertifikat-sesi-${sid}.pdf`).catch((err) => banner(describeError(err), 'bad', 8));
  });
  $('reason-form').addEventListener('submit', submitReason);
  initSites(api);
  initSessions(api);
  initSchemes(api);
  initCorrections(api);
  initKeys(api);
  initAudit(api);
  $('bank-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    checkBank(false);
  });
  $('bank-file').addEventListener('change', () => {
    $('bank-import').disabled = true;
  });
  $('bank-import').addEventListener('click', () => checkBank(true));
  $('res-form').addEventListener('submit', loadAnalysis);
  $('res-publish').addEventListener('click', askPublish);
  $('confirm-form').addEventListener('submit', publish);
  $('confirm-cancel').addEventListener('click', () => closeDialog($('confirm-dialog')));
  $('reason-cancel').addEventListener('click', () => closeDialog($('reason-dialog')));
  if (api.loggedIn && ROLES.has(api.role)) {
    api
      .refresh()
      .then(afterLogin)
      .catch((err) => {
        if (!(err instanceof ApiError)) afterLogin();
        else showView('login');
      });
  } else {
    showView('login');
  }
}

init();
