// The console's "Koreksi kunci" tab: propose a key correction (rekey or void), see the API's
// preview of the outcomes it flips (POST .../corrections with preview: true, nothing written),
// then apply the very same correction. Items are listed from the session's item analysis.
import {describeError} from '../api.js';
import {$, el, fieldError, setText} from '../dom.js';

const st = {api: null, items: new Map(), previewed: null};
const OUTCOME = {kompeten: 'kompeten', belum_kompeten: 'belum kompeten'};
const num = (v) => String(v).replace('.', ',');
const TYPE = {single: 'pilihan tunggal', multiple: 'pilihan ganda', numeric: 'isian angka'};

function parseAnswer(raw, type) {
  const text = raw.trim();
  if (type === 'multiple' || (!type && text.includes(','))) return text.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (type === 'numeric' || (!type && /^-?[0-9.,]+$/.test(text))) return Number(text.replace(/\./g, '').replace(',', '.'));
  return text.toLowerCase();
}

function body(preview) {
  const id = Number($('kc-item').value);
  const action = $('kc-action').value;
  const out = {action, reason: $('kc-reason').value.trim(), preview};
  if (action === 'rekey') out.answer = parseAnswer($('kc-answer').value, (st.items.get(id) || {}).type);
  return {id, out};
}

async function loadItems(ev) {
  ev.preventDefault();
  const sid = Number($('kc-session').value);
  if (!Number.isInteger(sid) || sid < 1) return;
  try {
    const report = await st.api.get(`/api/v1/sessions/${sid}/item-analysis`);
    st.items = new Map(report.items.map((it) => [it.item_version_id, it]));
    $('kc-items').replaceChildren(
      ...report.items.map((it) =>
        el(
          'tr',
          {class: it.flags.length ? 'flagged-row' : ''},
          el('th', {scope: 'row'}, `${it.external_id} (versi ${it.item_version_id})`),
          el('td', {}, it.unit),
          el('td', {}, TYPE[it.type] || it.type),
          el('td', {}, it.p === null ? '-' : it.p.toFixed(2).replace('.', ',')),
          el('td', {}, it.voided ? 'dibatalkan' : it.flags.length ? it.flag_texts.join('; ') : '-'),
          el('td', {}, el('button', {type: 'button', onclick: () => choose(it), 'aria-label': `Koreksi butir ${it.external_id}`}, 'Koreksi')),
        ),
      ),
    );
  } catch (err) {
    setText('kc-summary', describeError(err));
  }
}

async function choose(it) {
  $('kc-item').value = String(it.item_version_id);
  setText('kc-title', `Koreksi butir ${it.external_id} (${TYPE[it.type] || it.type}; pilihan ${Object.keys(it.option_counts).sort().join(', ') || '-'})`);
  st.previewed = null;
  $('kc-apply').disabled = true;
  $('kc-answer').focus();
  await history(it.item_version_id);
}

async function history(id) {
  try {
    const list = await st.api.get(`/api/v1/item-versions/${id}/corrections`);
    $('kc-history').replaceChildren(
      ...(list.length
        ? list.map((c) => el('li', {}, `${c.action === 'void' ? 'Dibatalkan' : 'Kunci diganti'} oleh ${c.actor || '-'}, ${new Date(c.created_at).toLocaleString('id-ID')}: ${c.reason}`))
        : [el('li', {class: 'muted'}, 'Belum pernah dikoreksi.')]),
    );
  } catch (_err) {
    $('kc-history').replaceChildren();
  }
}

function render(out) {
  $('kc-changes').replaceChildren(
    ...out.changes.map((c) =>
      el(
        'tr',
        {class: c.old_outcome !== c.new_outcome ? 'flagged-row' : ''},
        el('th', {scope: 'row'}, `${c.full_name} (${c.username})`),
        el('td', {}, `${num(c.old_score)} → ${num(c.new_score)}`),
        el('td', {}, c.old_outcome === c.new_outcome ? `tetap ${OUTCOME[c.new_outcome]}` : `${OUTCOME[c.old_outcome]} → ${OUTCOME[c.new_outcome]}`),
      ),
    ),
  );
  const flips = `${out.newly_passed.length} menjadi kompeten, ${out.no_longer_passed.length} tidak lagi kompeten`;
  setText(
    'kc-summary',
    out.preview
      ? `Pratinjau: ${out.regraded} hasil dinilai ulang, ${out.changes.length} nilai berubah; ${flips}. Belum ada yang disimpan.`
      : `Koreksi diterapkan: ${out.regraded} hasil dinilai ulang; ${flips}; ${out.credentials_issued} sertifikat terbit, ${out.credentials_revoked} dicabut.`,
  );
}

async function preview(ev) {
  ev.preventDefault();
  fieldError('kc-error', '');
  const {id, out} = body(true);
  if (!id || !out.reason || (out.action === 'rekey' && $('kc-answer').value.trim() === '')) {
    fieldError('kc-error', 'Isi nomor versi butir, kunci baru (untuk ganti kunci) dan alasan.');
    return;
  }
  try {
    const res = await st.api.post(`/api/v1/item-versions/${id}/corrections`, out);
    render(res);
    st.previewed = JSON.stringify({id, out});
    $('kc-apply').disabled = false;
  } catch (err) {
    fieldError('kc-error', describeError(err));
  }
}

async function apply() {
  const {id, out} = body(true);
  if (JSON.stringify({id, out}) !== st.previewed) {
    // what is applied is exactly what was previewed
    fieldError('kc-error', 'Isian berubah sejak pratinjau. Buat pratinjau lagi.');
    $('kc-apply').disabled = true;
    return;
  }
  try {
    const res = await st.api.post(`/api/v1/item-versions/${id}/corrections`, {...out, preview: false});
    render(res);
    st.previewed = null;
    $('kc-apply').disabled = true;
    await history(id);
  } catch (err) {
    fieldError('kc-error', describeError(err));
  }
}

export function initCorrections(api) {
  st.api = api;
  $('kc-find').addEventListener('submit', loadItems);
  $('kc-form').addEventListener('submit', preview);
  $('kc-apply').addEventListener('click', apply);
  $('kc-action').addEventListener('change', () => {
    $('kc-answer').disabled = $('kc-action').value === 'void';
  });
}
