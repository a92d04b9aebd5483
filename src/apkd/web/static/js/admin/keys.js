// The console's "Kunci tanda tangan" tab: every signing key with its thumbprint and status, and
// rotating the credential key with a confirmation and a reason (POST /api/v1/keys/rotate, admin).
import {describeError} from '../api.js';
import {$, banner, closeDialog, el, fieldError, openDialog, setText} from '../dom.js';

const st = {api: null};
const PURPOSE = {credential: 'Sertifikat', log: 'Log transparansi'};
const STATUS = {active: 'aktif', retired: 'dipensiunkan', compromised: 'BOCOR'};
const when = (iso) => (iso ? new Date(iso).toLocaleString('id-ID', {dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Makassar'}) + ' WITA' : '-');

export async function loadKeys(api) {
  st.api = api;
  try {
    const keys = await api.get('/api/v1/keys');
    $('keys-body').replaceChildren(
      ...keys.map((k) =>
        el(
          'tr',
          {class: k.status === 'compromised' ? 'flagged-row' : ''},
          el('th', {scope: 'row'}, PURPOSE[k.purpose] || k.purpose),
          el('td', {class: 'mono wrap', title: k.thumbprint_uri}, k.kid),
          el('td', {class: `status-${k.status}`}, STATUS[k.status] || k.status),
          el('td', {}, when(k.created_at)),
          el('td', {}, k.compromised_at ? `${when(k.compromised_at)}: ${k.compromise_reason || ''}` : when(k.retired_at)),
        ),
      ),
    );
    const active = keys.filter((k) => k.status === 'active').length;
    setText('keys-summary', `${keys.length} kunci: ${active} aktif, ${keys.length - active} dipensiunkan atau bocor.`);
  } catch (err) {
    setText('keys-summary', describeError(err));
  }
}

async function rotate(ev) {
  ev.preventDefault();
  const reason = $('rotate-reason').value.trim();
  if (!reason) {
    fieldError('rotate-error', 'Alasan wajib diisi.');
    return;
  }
  try {
    const key = await st.api.post('/api/v1/keys/rotate', {reason});
    closeDialog($('rotate-dialog'));
    banner(`Kunci baru aktif: ${key.kid}.`, 'ok', 8);
    await loadKeys(st.api);
  } catch (err) {
    fieldError('rotate-error', describeError(err));
  }
}

export function initKeys(api) {
  st.api = api;
  $('keys-rotate').addEventListener('click', () => {
    $('rotate-reason').value = '';
    fieldError('rotate-error', '');
    openDialog($('rotate-dialog'));
    $('rotate-reason').focus();
  });
  $('rotate-form').addEventListener('submit', rotate);
  $('rotate-cancel').addEventListener('click', () => closeDialog($('rotate-dialog')));
}
