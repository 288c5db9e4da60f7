import { describe, expect, it } from 'vitest';
import { checkRange, clampIn, clampOut, formatClock, initialRange, MIN_CLIP_SECONDS, parseClock, snapToFrame, toMs } from './clip-range';

describe('formatClock', () => {
  it('writes mm:ss.mmm, with hours when needed', () => {
    expect(formatClock(0)).toBe('00:00.000');
    expect(formatClock(83.456)).toBe('01:23.456');
    expect(formatClock(59.9996)).toBe('01:00.000');
    expect(formatClock(3723.5)).toBe('1:02:03.500');
    expect(formatClock(-3)).toBe('00:00.000');
    expect(formatClock(NaN)).toBe('00:00.000');
  });
  it('round-trips through parseClock', () => {
    for (const t of [0, 0.04, 1.5, 83.456, 599.999, 3600, 7322.08]) expect(parseClock(formatClock(t))).toBeCloseTo(t, 3);
  });
});

describe('parseClock', () => {
  it('reads the forms a teacher types', () => {
    expect(parseClock('1:23.456')).toBeCloseTo(83.456, 6);
    expect(parseClock(' 01:23 ')).toBe(83);
    expect(parseClock('83.25')).toBe(83.25);
    expect(parseClock('1:02:03.5')).toBeCloseTo(3723.5, 6);
    expect(parseClock('01:23,4')).toBeCloseTo(83.4, 6);
    expect(parseClock('01：23.4')).toBeCloseTo(83.4, 6);
  });
  it('refuses what is not a time', () => {
    for (const s of ['', 'abc', '1:60', '1:60:00', '1:2:3:4', '-1', '1.2345', '1:23.', '.5']) expect(parseClock(s)).toBeNaN();
  });
});

describe('snapToFrame', () => {
  it('moves to the nearest frame at the given rate', () => {
    expect(snapToFrame(1.01, 25)).toBe(1);
    expect(snapToFrame(1.03, 25)).toBe(1.04);
    expect(snapToFrame(10.02, 30)).toBe(10.033);
    expect(snapToFrame(2.5)).toBe(2.52); // 62.5 frames rounds up
    expect(snapToFrame(NaN)).toBe(0);
    expect(snapToFrame(1.2345, 0)).toBe(1.235);
  });
  it('gives whole milliseconds', () => {
    expect(toMs(snapToFrame(7.77, 30))).toBe(7767);
  });
});

describe('clamping dragged handles', () => {
  it('keeps in between 0 and out minus the minimum', () => {
    expect(clampIn(-5, 20, 100)).toBe(0);
    expect(clampIn(19.8, 20, 100)).toBe(20 - MIN_CLIP_SECONDS);
    expect(clampIn(10, 20, 100)).toBe(10);
  });
  it('keeps out between in plus the minimum and the duration', () => {
    expect(clampOut(150, 20, 100)).toBe(100);
    expect(clampOut(20.2, 20, 100)).toBe(20 + MIN_CLIP_SECONDS);
    expect(clampOut(50, 20, 100)).toBe(50);
  });
});

describe('checkRange', () => {
  it('accepts a good range', () => {
    expect(checkRange(10, 11, 100)).toBeNull();
    expect(checkRange(0, 100, 100)).toBeNull();
    expect(checkRange(5, 500, 0)).toBeNull(); // duration unknown
  });
  it('names the problem', () => {
    expect(checkRange(NaN, 10, 100)).toEqual({ key: 'clip.err.time' });
    expect(checkRange(10, 10, 100)).toEqual({ key: 'clip.err.order' });
    expect(checkRange(12, 10, 100)).toEqual({ key: 'clip.err.order' });
    expect(checkRange(10, 10.5, 100)).toEqual({ key: 'clip.err.short', params: { seconds: 1 } });
    expect(checkRange(90, 100.5, 100)).toEqual({ key: 'clip.err.range' });
    expect(checkRange(-1, 10, 100)).toEqual({ key: 'clip.err.range' });
  });
});

describe('initialRange', () => {
  it('starts at the playhead for a minute or to the end', () => {
    expect(initialRange(10, 600)).toEqual({ in: 10, out: 70 });
    expect(initialRange(590, 600)).toEqual({ in: 590, out: 600 });
    expect(initialRange(600, 600)).toEqual({ in: 599, out: 600 });
    expect(initialRange(0, 0)).toEqual({ in: 0, out: 0 });
  });
});
