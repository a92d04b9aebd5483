// Numbers as Indonesians write them: the dot groups thousands, the comma is the decimal separator.
// The same rule as the server's (src/apkd/exams/numbers.py; tests/exams/test_numbers.py runs both
// on one table): "75.000" is 75000, "2,5" is 2.5, "Rp 1.500.000" is 1500000; "2.5" and "1,500"
// are refused with a message saying what to type instead.

const GROUPED = /^[0-9]{1,3}(\.[0-9]{3})+$/;
const PLAIN = /^[0-9]+$/;
const MAX_TEXT = 40;
const EXAMPLES = 'misalnya 75.000 (tujuh puluh lima ribu) atau 2,5 (dua koma lima)';

// {value: number|null} or {error: 'pesan'}; value null for blank text.
export function parseId(text) {
  const raw = String(text ?? '').trim().replace(/\u00a0/g, ' ');
  if (!raw) return {value: null};
  if (raw.length > MAX_TEXT) return {error: 'Angka jawaban terlalu besar.'};
  let sign = 1;
  let body = raw;
  if ('+-\u2212'.includes(body[0])) {
    sign = body[0] === '+' ? 1 : -1;
    body = body.slice(1).trimStart();
  }
  body = body.replace(/^rp\.?\s*/i, '');
  if (sign === 1 && body && '-\u2212'.includes(body[0])) {
    sign = -1;
    body = body.slice(1).trimStart();
  }
  const at = body.indexOf(',');
  const comma = at >= 0;
  const whole = comma ? body.slice(0, at) : body;
  const fraction = comma ? body.slice(at + 1) : '';
  if (comma && !PLAIN.test(fraction)) {
    if (fraction.includes(',') || fraction.includes('.')) {
      return {
        error:
          `'${raw}' tidak dapat dibaca: koma hanya sekali, sebagai pemisah desimal, dan titik ` +
          `sebagai pemisah ribuan; ${EXAMPLES}.`,
      };
    }
    return {error: `'${raw}' bukan angka yang sah; ${EXAMPLES}.`};
  }
  let digits;
  if (GROUPED.test(whole)) {
    digits = whole.replace(/\./g, '');
  } else if (PLAIN.test(whole)) {
    digits = whole;
    if (comma && fraction.length === 3) {
      return {
        error:
          `'${raw}' meragukan: bisa berarti ${whole},${fraction} atau ${whole}.${fraction}. ` +
          `Tulis ${formatId(Number(`${whole}.${fraction}`))} bila maksud Anda desimal, ` +
          `atau ${formatId(Number(whole + fraction))} bila maksud Anda ribuan.`,
      };
    }
  } else if (whole.includes('.') && /^[0-9.]+$/.test(whole)) {
    return {
      error:
        `'${raw}' tidak dapat dibaca: titik dipakai sebagai pemisah ribuan (75.000) dan koma ` +
        `sebagai pemisah desimal (2,5). Tulis desimal dengan koma, ${EXAMPLES}.`,
    };
  } else {
    return {error: `'${raw}' bukan angka yang sah; ${EXAMPLES}.`};
  }
  const value = comma ? Number(`${digits}.${fraction}`) : Number(digits);
  return {value: sign * value === 0 ? 0 : sign * value};
}

// 75000 -> "75.000", -2.5 -> "-2,5", 1500000.25 -> "1.500.000,25"
export function formatId(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '';
  let text = String(Number(value));
  if (/e/i.test(text)) text = Number(value).toFixed(10).replace(/0+$/, '').replace(/\.$/, '');
  let sign = '';
  if (text.startsWith('-')) {
    sign = '-';
    text = text.slice(1);
  }
  const [whole, fraction] = text.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  return `${sign}${grouped}${fraction ? `,${fraction}` : ''}`;
}
