// The signed-in teacher, reviewer or admin, as the portal pages see them: the
// session cookie is HttpOnly, so a page learns who it serves (and the CSRF token
// it must echo on every unsafe request) from GET /api/v1/auth/me.

import { ApiError } from './api';

/** A user as /api/v1/auth/me and the admin API return it. */
export interface User {
  id: string;
  username: string;
  display_name: string;
  /** One of admin, reviewer, teacher, viewer. */
  role: string;
  school_id?: string;
  district?: string;
  disabled?: boolean;
}

/** What GET /api/v1/auth/me answers. */
export interface Me {
  user: User;
  method: string;
  csrf_token?: string;
  session_expires_at?: string;
}

export const CSRF_HEADER = 'X-CSRF-Token';

let current: Promise<Me | null> | null = null;

/** The caller, or null when nobody is signed in. Asked once per page load. */
export function currentUser(): Promise<Me | null> {
  current ??= (async () => {
    const res = await fetch('/api/v1/auth/me', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (res.status === 401) return null;
    if (!res.ok) throw await apiError(res);
    return (await res.json()) as Me;
  })();
  return current;
}

/** Forgets the cached caller (after sign-in or sign-out). */
export function forgetUser(): void {
  current = null;
}

/** hasRole: an admin passes every role check, like the server's Principal.Is. */
export function hasRole(me: Me | null, ...roles: string[]): boolean {
  const role = me?.user.role;
  return role === 'admin' || (role !== undefined && roles.includes(role));
}

/** The sign-in page's URL that comes back to next (a same-site path) afterwards. */
export function signInUrl(next: string = location.pathname + location.search): string {
  return `/signin?next=${encodeURIComponent(safeNext(next))}`;
}

/** safeNext keeps only same-site paths, so ?next= cannot send a user elsewhere. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/me';
  return next;
}

/** The caller; anonymous visitors are sent to the sign-in page (the promise never settles then). */
export async function requireUser(): Promise<Me> {
  const me = await currentUser();
  if (me) return me;
  location.assign(signInUrl());
  return new Promise<Me>(() => {});
}

async function apiError(res: Response): Promise<ApiError> {
  let code: string | null = null;
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(res.status, code, message);
}

/**
 * Sends an unsafe request to /api/v1<path> with the session's CSRF token. body is
 * sent as JSON unless contentType is given (then as is: a string or a Blob).
 * Answers the parsed JSON, or undefined for 204.
 */
export async function apiSend<T = unknown>(
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  contentType?: string,
): Promise<T> {
  const me = await currentUser();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (me?.csrf_token) headers[CSRF_HEADER] = me.csrf_token;
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    if (contentType) {
      headers['Content-Type'] = contentType;
      payload = body as BodyInit;
    } else {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
  }
  const res = await fetch(`/api/v1${path}`, { method, headers, body: payload ?? null, credentials: 'same-origin' });
  if (!res.ok) throw await apiError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** GETs /api/v1<path> as JSON with the session cookie; ApiError otherwise. */
export async function apiFetch<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/api/v1${path}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin', signal: signal ?? null });
  if (!res.ok) throw await apiError(res);
  return (await res.json()) as T;
}

/** Signs in with a password; the server sets the session cookie. */
export async function signIn(username: string, password: string): Promise<Me> {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ username, password }),
    credentials: 'same-origin',
  });
  if (!res.ok) throw await apiError(res);
  forgetUser();
  const me = await currentUser();
  if (!me) throw new ApiError(401, 'unauthenticated', 'signed in but the session was not kept');
  return me;
}

/** Signs out (best effort) and forgets the caller. */
export async function signOut(): Promise<void> {
  try {
    await apiSend('POST', '/auth/logout');
  } finally {
    forgetUser();
  }
}
