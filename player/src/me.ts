// My lessons at /me: the signed-in teacher's lessons (GET /api/v1/lessons?mine=1),
// each with its review state, reject reason and where its video is in processing
// (polled every 3 s while any is unsettled and the tab is visible), the
// micro-lectures cut from them, and a change-password form.

import { ApiError } from './api';
import { isSettled, parseAsset, type Asset } from './assets';
import { formatDateTime, formatDuration, formatPercent } from './format';
import { getLang, onLangChange, t } from './i18n';
import {
  apiErrorText,
  assetBadge,
  badge,
  byId,
  canSubmit,
  clipSpan,
  h,
  initPortalPage,
  lessonsQuery,
  pageRange,
  parseClipList,
  parseLessonPage,
  reviewBadge,
  type Clip,
  type Lesson,
} from './portal';
import { apiFetch, apiSend, hasRole, type Me } from './session';

const PAGE_SIZE = 20;
const POLL_MS = 3000;

const ui = {
  error: byId<HTMLParagraphElement>('me-error'),
  upload: byId<HTMLAnchorElement>('upload-link'),
  lessons: byId<HTMLUListElement>('lesson-list'),
  lessonsEmpty: byId<HTMLParagraphElement>('lessons-empty'),
  clips: byId<HTMLUListElement>('clip-list'),
  clipsEmpty: byId<HTMLParagraphElement>('clips-empty'),
  pager: byId<HTMLElement>('pager'),
  pagerInfo: byId<HTMLSpanElement>('pager-info'),
  prev: byId<HTMLButtonElement>('prev'),
  next: byId<HTMLButtonElement>('next'),
  pwForm: byId<HTMLFormElement>('password-form'),
  pwCurrent: byId<HTMLInputElement>('pw-current'),
  pwNew: byId<HTMLInputElement>('pw-new'),
  pwConfirm: byId<HTMLInputElement>('pw-confirm'),
  pwError: byId<HTMLParagraphElement>('pw-error'),
  pwOk: byId<HTMLParagraphElement>('pw-ok'),
  pwSubmit: byId<HTMLButtonElement>('pw-submit'),
};

let page = Math.max(1, Math.floor(Number(new URL(location.href).searchParams.get('page'))) || 1);
let lessons: Lesson[] = [];
let total = 0;
let clips: Clip[] = [];
let loaded = false;
/** The asset of each lesson and clip on the page, by asset id; null when it could not be read. */
const assets = new Map<string, Asset | null>();
let pollTimer: ReturnType<typeof setTimeout> | undefined;
/** Reloads left for clips still waiting for their cut (a failed cut never gets an asset). */
let clipReloads = 0;
const MAX_CLIP_RELOADS = 100;

function meta(parts: (string | false | undefined)[]): HTMLDivElement {
  const d = h('div', 'item-meta');
  for (const p of parts) if (p) d.append(h('span', undefined, p));
  return d;
}

/** The asset's state badge and, while it is processing, a progress bar. */
function assetPart(assetId: string, testid: string): HTMLElement[] {
  const lang = getLang();
  if (!assetId) {
    const b = badge('state', { label: t('portal.me.clip.cutting'), state: 'queued' });
    b.dataset.testid = testid;
    return [b];
  }
  const a = assets.get(assetId);
  if (!a) return [];
  const b = badge('state', assetBadge(a.state, a.percent, lang));
  b.dataset.testid = testid;
  b.dataset.assetState = a.state;
  b.title = t('portal.me.video');
  if (a.state !== 'processing') return [b];
  const wrap = h('div', 'item-progress');
  const bar = h('div', 'bar');
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', formatPercent(a.percent));
  bar.setAttribute('aria-label', t('portal.me.video'));
  const fill = h('div', 'bar-fill');
  fill.style.width = `${formatPercent(a.percent)}%`;
  bar.append(fill);
  wrap.append(bar);
  return [b, wrap];
}

function submitButton(kind: 'lessons' | 'clips', id: string, state: string): HTMLButtonElement | null {
  if (!canSubmit(state)) return null;
  const btn = h('button', 'btn btn-small btn-primary', t(state === 'rejected' ? 'portal.me.resubmit' : 'portal.me.submit'));
  btn.type = 'button';
  btn.dataset.testid = `me-submit-${id}`;
  btn.addEventListener('click', () => {
    btn.disabled = true;
    ui.error.textContent = '';
    apiSend('POST', `/${kind}/${encodeURIComponent(id)}/submit`)
      .then(() => load())
      .catch((err: unknown) => {
        btn.disabled = false;
        ui.error.textContent = apiErrorText(err);
      });
  });
  return btn;
}

function lessonItem(l: Lesson): HTMLLIElement {
  const lang = getLang();
  const li = h('li', 'item');
  li.dataset.id = l.id;
  li.dataset.testid = `me-lesson-${l.id}`;
  const head = h('div', 'item-head');
  const title = h('h3', 'item-title');
  const a = h('a', undefined, l.title || l.id);
  a.href = `/lessons/${encodeURIComponent(l.id)}`;
  a.dataset.testid = `me-lesson-link-${l.id}`;
  title.append(a);
  const rb = badge('review', reviewBadge(l.state, lang));
  rb.dataset.testid = `me-lesson-state-${l.id}`;
  head.append(title, rb);
  li.append(head);
  li.append(
    meta([
      l.subject,
      l.grade,
      l.duration_ms > 0 && formatDuration(l.duration_ms / 1000),
      l.created_at && t('portal.me.created', { time: formatDateTime(l.created_at, lang) }),
    ]),
  );
  const status = h('div', 'item-head');
  const parts = assetPart(l.asset_id, `me-lesson-asset-${l.id}`);
  if (parts.length > 0) status.append(h('span', 'muted', t('portal.me.videoShort')), ...parts);
  const a2 = assets.get(l.asset_id);
  if (a2?.state === 'failed' && a2.error) status.append(h('span', 'muted', t('portal.me.failed', { reason: a2.error })));
  if (status.childElementCount > 0) li.append(status);
  if (l.state === 'rejected' && l.reject_reason) {
    const r = h('p', 'item-reason', t('portal.me.rejected', { reason: l.reject_reason }));
    r.dataset.testid = `me-lesson-reason-${l.id}`;
    li.append(r);
  }
  const sub = submitButton('lessons', l.id, l.state);
  if (sub) {
    const actions = h('div', 'actions');
    actions.append(sub);
    li.append(actions);
  }
  return li;
}

function clipItem(c: Clip): HTMLLIElement {
  const lang = getLang();
  const li = h('li', 'item');
  li.dataset.id = c.id;
  li.dataset.testid = `me-clip-${c.id}`;
  const head = h('div', 'item-head');
  const title = h('h3', 'item-title');
  const a = h('a', undefined, c.title || c.id);
  a.href = `/clips/${encodeURIComponent(c.id)}`;
  a.dataset.testid = `me-clip-link-${c.id}`;
  title.append(a);
  const rb = badge('review', reviewBadge(c.state, lang));
  rb.dataset.testid = `me-clip-state-${c.id}`;
  head.append(title, rb, ...assetPart(c.asset_id, `me-clip-asset-${c.id}`));
  li.append(head);
  const lesson = lessons.find((l) => l.id === c.lesson_id);
  li.append(meta([c.knowledge_point, clipSpan(c.start_ms, c.end_ms), lesson && t('portal.me.clip.from', { title: lesson.title })]));
  if (c.state === 'rejected' && c.reject_reason) li.append(h('p', 'item-reason', t('portal.me.rejected', { reason: c.reject_reason })));
  const sub = submitButton('clips', c.id, c.state);
  if (sub) {
    const actions = h('div', 'actions');
    actions.append(sub);
    li.append(actions);
  }
  return li;
}

function render(): void {
  if (!loaded) return;
  ui.lessons.replaceChildren(...lessons.map(lessonItem));
  ui.lessons.setAttribute('aria-busy', 'false');
  ui.lessonsEmpty.hidden = lessons.length > 0;
  ui.lessonsEmpty.textContent = page > 1 ? t('portal.me.pageEmpty') : t('portal.me.empty');
  ui.clips.replaceChildren(...clips.map(clipItem));
  ui.clipsEmpty.hidden = clips.length > 0;
  ui.clipsEmpty.textContent = t('portal.me.clipsEmpty');
  const offset = (page - 1) * PAGE_SIZE;
  ui.pager.hidden = total <= PAGE_SIZE && page === 1;
  const r = pageRange(offset, lessons.length, total);
  ui.pagerInfo.textContent = lessons.length > 0 ? t('portal.page', r) : '';
  ui.prev.disabled = page <= 1;
  ui.next.disabled = offset + lessons.length >= total;
}

/** Reads the assets whose state may still change; missing ones are forgotten quietly. */
async function refreshAssets(ids: string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      try {
        assets.set(id, parseAsset(await apiFetch<unknown>(`/assets/${encodeURIComponent(id)}`)));
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) assets.set(id, null);
        // other errors: keep what we had, the next poll tries again
      }
    }),
  );
}

function unsettledAssets(): string[] {
  const ids = new Set<string>();
  for (const x of [...lessons, ...clips]) {
    if (!x.asset_id) continue;
    const a = assets.get(x.asset_id);
    if (a === undefined || (a !== null && !isSettled(a.state))) ids.add(x.asset_id);
  }
  return [...ids];
}

function schedulePoll(): void {
  clearTimeout(pollTimer);
  pollTimer = undefined;
  // Clips without an asset are still being cut: their asset appears on a reload.
  const cutting = clips.some((c) => !c.asset_id) && clipReloads > 0;
  const waiting = unsettledAssets().length > 0 || cutting;
  if (!waiting || document.visibilityState !== 'visible') return;
  pollTimer = setTimeout(() => {
    if (cutting) {
      clipReloads--;
      void load(false);
    } else {
      void refreshAssets(unsettledAssets()).then(render).finally(schedulePoll);
    }
  }, POLL_MS);
}

/** Reads the page of lessons, their clips and assets; fresh is false for a poll. */
async function load(fresh = true): Promise<void> {
  if (fresh) clipReloads = MAX_CLIP_RELOADS;
  try {
    const body = await apiFetch<unknown>(`/lessons${lessonsQuery({ mine: true, sort: 'newest', limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`);
    const p = parseLessonPage(body);
    lessons = p.lessons;
    total = p.total;
    // All of the teacher's micro-lectures, newest first, whichever lesson page they are on.
    clips = parseClipList(await apiFetch<unknown>('/clips?mine=1&limit=200'));
    await refreshAssets(unsettledAssets());
    loaded = true;
    ui.error.textContent = '';
    render();
  } catch (err) {
    ui.error.textContent = t('portal.me.loadError', { message: apiErrorText(err) });
  }
  schedulePoll();
}

function setPage(n: number): void {
  page = Math.max(1, n);
  const url = new URL(location.href);
  if (page > 1) url.searchParams.set('page', String(page));
  else url.searchParams.delete('page');
  history.replaceState(null, '', url.pathname + url.search);
  void load();
}

ui.prev.addEventListener('click', () => setPage(page - 1));
ui.next.addEventListener('click', () => setPage(page + 1));

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && loaded) void refreshAssets(unsettledAssets()).then(render).finally(schedulePoll);
  else schedulePoll();
});

// --- change password

ui.pwForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  ui.pwError.textContent = '';
  ui.pwOk.textContent = '';
  const current = ui.pwCurrent.value;
  const next = ui.pwNew.value;
  if (!current || !next) {
    ui.pwError.textContent = t('portal.me.password.missing');
    return;
  }
  if ([...next].length < 8) {
    ui.pwError.textContent = t('portal.me.password.short');
    ui.pwNew.focus();
    return;
  }
  if (next !== ui.pwConfirm.value) {
    ui.pwError.textContent = t('portal.me.password.mismatch');
    ui.pwConfirm.focus();
    return;
  }
  ui.pwSubmit.disabled = true;
  apiSend('POST', '/auth/password', { current_password: current, new_password: next })
    .then(() => {
      ui.pwForm.reset();
      ui.pwOk.textContent = t('portal.me.password.done');
    })
    .catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'invalid' && err.message.startsWith('current_password')) {
        ui.pwError.textContent = t('portal.me.password.wrong');
        ui.pwCurrent.focus();
      } else if (err instanceof ApiError && err.code === 'invalid') {
        ui.pwError.textContent = t('portal.me.password.invalid', { message: err.message.replace(/^new_password:\s*/, '') });
      } else if (err instanceof ApiError && err.status === 429) {
        ui.pwError.textContent = t('portal.me.password.rateLimited');
      } else {
        ui.pwError.textContent = apiErrorText(err);
      }
    })
    .finally(() => (ui.pwSubmit.disabled = false));
});

onLangChange(render);

void initPortalPage({ active: 'me', requireSignIn: true, title: 'portal.me.title' }).then((me: Me | null) => {
  if (!me) return;
  ui.upload.hidden = !hasRole(me, 'teacher');
  void load();
});
