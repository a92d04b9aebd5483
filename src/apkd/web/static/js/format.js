// Formatting for display: durations, and times in the exam site's time zone.

const ZONE_LABELS = {
  'Asia/Jakarta': 'WIB',
  'Asia/Pontianak': 'WIB',
  'Asia/Makassar': 'WITA',
  'Asia/Jayapura': 'WIT',
};

export function zoneLabel(tz) {
  return ZONE_LABELS[tz] || tz || '';
}

// 5409 -> "1:30:09", 309 -> "05:09"; negative shows as 00:00
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '-';
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${pad(m)}:${pad(sec)}`;
}

function formatter(tz, withDate) {
  const options = {hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false};
  if (withDate) Object.assign(options, {day: 'numeric', month: 'short'});
  try {
    return new Intl.DateTimeFormat('id-ID', {...options, timeZone: tz || undefined});
  } catch (_err) {
    return new Intl.DateTimeFormat('id-ID', options);
  }
}

// An ISO 8601 instant shown as "14.05.09 WITA" in the zone `tz`.
export function formatClock(iso, tz, withDate = false) {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '-';
  const label = zoneLabel(tz);
  return `${formatter(tz, withDate).format(d)}${label ? ` ${label}` : ''}`;
}
