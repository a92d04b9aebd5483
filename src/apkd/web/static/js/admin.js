// The certification body's console (/admin): coverage with drill-down, renewal list, officer
// search, candidates import with preview and login slips, credentials and their status changes.
// Every datum comes from the JSON API, which decides who sees what (a viewer only its region).
import {ApiError, Client, describeError} from './api.js';
import {$, banner, closeDialog, el, fieldError, openDialog, setText, show, showView} from './dom.js';

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
  showView('console');
  await loadSchemes();
  openTab('coverage');
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
  $('reason-form').addEventListener('submit', submitReason);
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
