// The banks tab's scheme table: versions, active items per unit, and retiring a version with a
// reason (POST /api/v1/schemes/{code}/retire; the API refuses new sessions on it: 409 scheme_retired).
import {describeError} from '../api.js';
import {$, banner, closeDialog, el, fieldError, openDialog, setText} from '../dom.js';

const st = {api: null, target: null};

function row(s, admin) {
  const units = el(
    'ul',
    {class: 'plain compact'},
    ...s.units.map((u) => el('li', {}, `${u.code}: ${s.items[u.code] ?? 0} / ${u.items_per_form}`)),
  );
  const cells = [
    el('th', {scope: 'row'}, `${s.code} - ${s.title}`),
    el('td', {class: 'mono'}, s.version),
    el('td', {}, units),
    el('td', {class: s.retired ? 'status-revoked' : 'status-valid'}, s.retired ? 'dipensiunkan' : 'berlaku'),
  ];
  if (admin) {
    cells.push(
      el(
        'td',
        {},
        s.retired ? '-' : el('button', {type: 'button', onclick: () => ask(s), 'aria-label': `Pensiunkan versi ${s.code} ${s.version}`}, 'Pensiunkan versi'),
      ),
    );
  }
  return el('tr', {}, ...cells);
}

export async function loadSchemes(api) {
  st.api = api;
  try {
    const schemes = await api.get('/api/v1/schemes');
    $('sch-body').replaceChildren(...schemes.map((s) => row(s, api.role === 'admin')));
  } catch (err) {
    banner(describeError(err), 'bad', 8);
  }
}

function ask(s) {
  st.target = s;
  setText('retire-title', `Pensiunkan skema ${s.code} versi ${s.version}?`);
  setText('retire-text', 'Sesi baru tidak dapat memakai versi ini. Sesi yang sudah dibuat, hasil dan sertifikat tetap seperti semula.');
  $('retire-reason').value = '';
  fieldError('retire-error', '');
  openDialog($('retire-dialog'));
  $('retire-reason').focus();
}

async function retire(ev) {
  ev.preventDefault();
  const reason = $('retire-reason').value.trim();
  if (!reason) {
    fieldError('retire-error', 'Alasan wajib diisi.');
    return;
  }
  try {
    const {code, version} = st.target;
    await st.api.post(`/api/v1/schemes/${encodeURIComponent(code)}/retire`, {version, reason});
    closeDialog($('retire-dialog'));
    banner(`Skema ${code} versi ${version} dipensiunkan.`, 'ok', 6);
    await loadSchemes(st.api);
  } catch (err) {
    fieldError('retire-error', describeError(err));
  }
}

export function initSchemes(api) {
  st.api = api;
  $('retire-form').addEventListener('submit', retire);
  $('retire-cancel').addEventListener('click', () => closeDialog($('retire-dialog')));
}
