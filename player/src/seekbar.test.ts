import { describe, expect, it } from 'vitest';
import { fractionAt, previewBox } from './seekbar';

describe('previewBox', () => {
  it('scales a sprite tile to the preview width', () => {
    const box = previewBox({ start: 0, end: 5, url: 'u', x: 320, y: 90, w: 160, h: 90 });
    expect(box).toEqual({
      frameWidth: 160,
      frameHeight: 90,
      width: '160px',
      height: '90px',
      backgroundPosition: '-320px -90px',
      backgroundSize: 'auto',
      scale: 1,
    });
    const big = previewBox({ start: 0, end: 5, url: 'u', x: 0, y: 240, w: 320, h: 240 }, 160);
    expect(big.scale).toBe(0.5);
    expect([big.frameWidth, big.frameHeight, big.backgroundPosition]).toEqual([160, 120, '-0px -240px']);
  });
  it('covers a 16:9 frame with a whole-image cue', () => {
    const box = previewBox({ start: 0, end: 5, url: 'u', x: 0, y: 0, w: 0, h: 0 }, 192);
    expect([box.frameWidth, box.frameHeight, box.backgroundSize, box.scale]).toEqual([192, 108, 'cover', 1]);
  });
});

describe('fractionAt', () => {
  it('maps a pointer to the bar and clamps', () => {
    expect(fractionAt(150, 100, 200)).toBe(0.25);
    expect(fractionAt(50, 100, 200)).toBe(0);
    expect(fractionAt(400, 100, 200)).toBe(1);
    expect(fractionAt(150, 100, 0)).toBe(0);
  });
});
