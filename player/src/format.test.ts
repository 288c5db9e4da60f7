import { describe, expect, it } from 'vitest';
import { formatBandwidth, formatDateTime, formatDuration, formatPercent } from './format';

describe('formatDuration', () => {
  it('writes hours only when there are some', () => {
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(3723.9)).toBe('1:02:03');
    expect(formatDuration(36000)).toBe('10:00:00');
    expect(formatDuration(3600)).toBe('1:00:00');
    expect(formatDuration(3599)).toBe('59:59');
    expect(formatDuration(62)).toBe('1:02');
    expect(formatDuration(5)).toBe('0:05');
    expect(formatDuration(1234.5)).toBe('20:34');
  });
  it('gives 0:00 for nothing, negatives and non-numbers', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(-4)).toBe('0:00');
    expect(formatDuration(NaN)).toBe('0:00');
    expect(formatDuration(Infinity)).toBe('0:00');
  });
});

describe('formatPercent', () => {
  it('floors and clamps', () => {
    expect(formatPercent(42.5)).toBe('42');
    expect(formatPercent(99.9)).toBe('99');
    expect(formatPercent(100)).toBe('100');
    expect(formatPercent(130)).toBe('100');
    expect(formatPercent(-1)).toBe('0');
    expect(formatPercent(NaN)).toBe('0');
  });
});

describe('formatDateTime', () => {
  it('writes a short local date and time in each language', () => {
    expect(formatDateTime('2026-11-23T13:27:00Z', 'zh', 'Asia/Shanghai')).toBe('2026-11-23 21:27');
    expect(formatDateTime('2026-11-23T13:27:00Z', 'en', 'Asia/Shanghai')).toBe('23 Nov 2026, 21:27');
    expect(formatDateTime('2026-01-05T00:05:00Z', 'zh', 'UTC')).toBe('2026-01-05 00:05');
  });
  it('gives nothing for an empty or bad timestamp', () => {
    expect(formatDateTime('', 'zh')).toBe('');
    expect(formatDateTime('yesterday', 'en')).toBe('');
  });
});

describe('formatBandwidth', () => {
  it('writes kbps and Mbps', () => {
    expect(formatBandwidth(2_800_000)).toBe('2.8 Mbps');
    expect(formatBandwidth(12_000_000)).toBe('12 Mbps');
    expect(formatBandwidth(96_000)).toBe('96 kbps');
    expect(formatBandwidth(0)).toBe('');
  });
});
