// Retry timing for the live page.

/** Wait before retrying when the stream is not live (404). */
export const NOT_LIVE_RETRY_MS = 3000;

/** Longest wait between retries after network or server errors. */
export const MAX_BACKOFF_MS = 10_000;

/**
 * Wait before retry number n (1-based) after consecutive network or server
 * failures: 1 s, 2 s, 4 s, 8 s, then 10 s.
 */
export function backoffMs(n: number): number {
  if (n < 1) return 0;
  return Math.min(1000 * 2 ** (n - 1), MAX_BACKOFF_MS);
}
