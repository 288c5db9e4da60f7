// The sign-in page at /signin: username and password, then back to ?next= (a
// same-site path) or /me. Errors say what happened: a wrong password, too many
// attempts (with a countdown from Retry-After), a disabled account.

import { ApiError } from './api';
import { t } from './i18n';
import { apiErrorText, byId, initPortalPage, retryAfterSeconds } from './portal';
import { currentUser, forgetUser, safeNext } from './session';

const form = byId<HTMLFormElement>('signin-form');
const username = byId<HTMLInputElement>('username');
const password = byId<HTMLInputElement>('password');
const submit = byId<HTMLButtonElement>('signin-submit');
const errorBox = byId<HTMLParagraphElement>('signin-error');
const already = byId<HTMLParagraphElement>('signed-in');

const next = safeNext(new URL(location.href).searchParams.get('next'));

/** Thrown by login after a 429: the countdown is already on screen. */
const RATE_LIMITED = Symbol('rate limited');

let lockedUntil = 0;
let countdown: ReturnType<typeof setInterval> | undefined;

function showError(text: string): void {
  errorBox.textContent = text;
}

/** Keeps the button disabled and the message counting down until a 429's wait is over. */
function lockFor(seconds: number): void {
  lockedUntil = Date.now() + seconds * 1000;
  clearInterval(countdown);
  const tick = () => {
    const left = Math.ceil((lockedUntil - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(countdown);
      submit.disabled = false;
      showError('');
      return;
    }
    submit.disabled = true;
    showError(t('portal.signin.rateLimited', { seconds: left }));
  };
  tick();
  countdown = setInterval(tick, 1000);
}

async function login(user: string, pass: string): Promise<void> {
  const res = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ username: user, password: pass }),
    credentials: 'same-origin',
  });
  if (res.ok) return;
  let code: string | null = null;
  let message = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: keep the status
  }
  if (res.status === 429) {
    lockFor(retryAfterSeconds(res.headers.get('Retry-After'), message));
    throw RATE_LIMITED; // the countdown is the message
  }
  throw new ApiError(res.status, code, message);
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (Date.now() < lockedUntil) return;
  const user = username.value.trim();
  if (!user || !password.value) {
    showError(t('portal.signin.missing'));
    (user ? password : username).focus();
    return;
  }
  showError('');
  submit.disabled = true;
  form.setAttribute('aria-busy', 'true');
  login(user, password.value)
    .then(async () => {
      forgetUser();
      await currentUser().catch(() => null);
      location.assign(next);
    })
    .catch((err: unknown) => {
      form.removeAttribute('aria-busy');
      if (err === RATE_LIMITED) return; // lockFor shows it
      submit.disabled = false;
      if (err instanceof ApiError && err.code === 'bad_credentials') {
        showError(t('portal.signin.bad'));
        password.value = '';
        password.focus();
      } else if (err instanceof ApiError && err.code === 'account_disabled') {
        showError(t('portal.signin.disabled'));
      } else {
        showError(apiErrorText(err));
      }
    });
});

void initPortalPage({ active: 'signin', title: 'portal.signin.title' }).then((me) => {
  if (me) {
    already.hidden = false;
    already.textContent = t('portal.signin.already', { name: me.user.display_name || me.user.username });
    const go = document.createElement('a');
    go.href = next;
    go.textContent = ` ${t('portal.signin.continue')}`;
    go.dataset.testid = 'signin-continue';
    already.append(go);
  }
  username.focus();
});
