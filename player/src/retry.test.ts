import { expect, it } from 'vitest';
import { backoffMs } from './retry';

it('backs off 1, 2, 4, 8 s, then stays at 10 s', () => {
  expect([1, 2, 3, 4, 5, 6, 20].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 10000, 10000, 10000]);
  expect(backoffMs(0)).toBe(0);
});
