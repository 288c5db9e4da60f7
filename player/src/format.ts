// Numbers and dates as the recordings pages show them. Pure: the language and
// time zone are parameters, so the tests do not depend on the machine.

import type { Lang } from './i18n';

/**
 * A media time as a clock: 3723 s gives "1:02:03", 62 s "1:02", 5 s "0:05".
 * Fractions are dropped (a player shows the second it is in); anything that is
 * not a finite, non-negative number gives "0:00".
 */
export function formatDuration(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A progress percentage for display: whole percent, 0 to 100, floored so 99.9 does not say 100. */
export function formatPercent(percent: number): string {
  if (!Number.isFinite(percent)) return '0';
  return String(Math.floor(Math.min(100, Math.max(0, percent))));
}

/**
 * A timestamp (RFC 3339) as a short local date and time: "2026-11-23 21:27" in
 * Chinese, "23 Nov 2026, 21:27" in English. timeZone defaults to the browser's.
 * Returns '' for an empty or unreadable timestamp.
 */
export function formatDateTime(iso: string, lang: Lang, timeZone?: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const parts = new Intl.DateTimeFormat('en-GB', {
    year: 'numeric',
    month: lang === 'zh' ? '2-digit' : 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    ...(timeZone ? { timeZone } : {}),
  }).formatToParts(d);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const time = `${get('hour')}:${get('minute')}`;
  return lang === 'zh'
    ? `${get('year')}-${get('month')}-${get('day')} ${time}`
    : `${get('day')} ${get('month')} ${get('year')}, ${time}`;
}

/** A bit rate for a menu: 2800000 gives "2.8 Mbps", 96000 "96 kbps". */
export function formatBandwidth(bps: number): string {
  if (!Number.isFinite(bps) || bps <= 0) return '';
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(bps >= 10_000_000 ? 0 : 1)} Mbps`;
  return `${Math.round(bps / 1000)} kbps`;
}
