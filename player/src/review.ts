// The review page at /review (reviewers and admins): the queue of submitted
// lessons and micro-lectures, oldest first, to approve or send back with a
// reason; and approved ones to publish. Every action shows its result at once
// and puts the item back, with the server's reason, when the server refuses.

import { formatDateTime } from './format';
import { getLang, onLangChange, t } from './i18n';
import {
  apiErrorText,
  badge,
  byId,
  h,
  initPortalPage,
  itemPageUrl,
  lessonsQuery,
  mergeReviewItems,
  parseClipList,
  parseLessonPage,
  parseReviewQueue,
  reviewActionPath,
  reviewBadge,
  reviewItemOfClip,
  reviewItemOfLesson,
  type ReviewItem,
} from './portal';
import { apiFetch, apiSend, type Me } from './session';

const LIMIT = 100;

const ui = {
  error: byId<HTMLParagraphElement>('review-error'),
  status: byId<HTMLParagraphElement>('review-status'),
  refresh: byId<HTMLButtonElement>('refresh'),
  queue: byId<HTMLUListElement>('queue'),
  queueEmpty: byId<HTMLParagraphElement>('queue-empty'),
  queueCount: byId<HTMLSpanElement>('queue-count'),
  approved: byId<HTMLUListElement>('approved'),
  approvedEmpty: byId<HTMLParagraphElement>('approved-empty'),
  approvedCount: byId<HTMLSpanElement>('approved-count'),
  dialog: byId<HTMLDialogElement>('reject-dialog'),
  rejectForm: byId<HTMLFormElement>('reject-form'),
  rejectWhat: byId<HTMLParagraphElement>('reject-what'),
  rejectReason: byId<HTMLTextAreaElement>('reject-reason'),
  rejectError: byId<HTMLParagraphElement>('reject-error'),
  rejectCancel: byId<HTMLButtonElement>('reject-cancel'),
};

let me: Me | null = null;
let queue: ReviewItem[] = [];
let approved: ReviewItem[] = [];
let queueTotal = 0;
let loaded = false;
/** Items with a request in flight: their buttons are disabled. */
const busy = new Set<string>();
let rejecting: ReviewItem | null = null;

const keyOf = (it: ReviewItem) => `${it.kind}:${it.id}`;

function kindLabel(kind: 'lesson' | 'clip'): string {
  return kind === 'lesson' ? t('portal.review.kind.lesson') : t('portal.review.kind.clip');
}

/** Reviewers may not approve or reject their own work (admins may). */
function ownWork(it: ReviewItem): boolean {
  return !!me && me.user.role !== 'admin' && it.teacherId === me.user.id;
}

function button(label: string, cls: string, testid: string, it: ReviewItem, onClick: () => void): HTMLButtonElement {
  const b = h('button', `btn btn-small ${cls}`, label);
  b.type = 'button';
  b.dataset.testid = testid;
  b.dataset.id = it.id;
  b.disabled = busy.has(keyOf(it));
  b.addEventListener('click', onClick);
  return b;
}

function itemElement(it: ReviewItem, list: 'queue' | 'approved'): HTMLLIElement {
  const lang = getLang();
  const li = h('li', 'item');
  li.dataset.id = it.id;
  li.dataset.kind = it.kind;
  li.dataset.testid = `review-item-${it.id}`;
  if (busy.has(keyOf(it))) li.setAttribute('aria-busy', 'true');
  const head = h('div', 'item-head');
  head.append(h('span', 'badge badge-state', kindLabel(it.kind)));
  const title = h('h3', 'item-title');
  const a = h('a', undefined, it.title || it.id);
  a.href = itemPageUrl(it.kind, it.id);
  a.dataset.testid = `review-link-${it.id}`;
  title.append(a);
  const rb = badge('review', reviewBadge(it.state, lang));
  rb.dataset.testid = `review-state-${it.id}`;
  head.append(title, rb);
  li.append(head);
  const meta = h('div', 'item-meta');
  for (const p of [
    it.teacherName,
    it.subject,
    it.grade,
    it.detail,
    it.submittedAt && t('portal.review.submittedAt', { time: formatDateTime(it.submittedAt, lang) }),
  ]) {
    if (p) meta.append(h('span', undefined, p));
  }
  li.append(meta);
  const actions = h('div', 'actions');
  if (list === 'queue') {
    const own = ownWork(it);
    const ok = button(t('portal.review.approve'), 'btn-primary', `review-approve-${it.id}`, it, () => void approve(it));
    const no = button(t('portal.review.reject'), 'btn-danger', `review-reject-${it.id}`, it, () => openReject(it));
    if (own) {
      ok.disabled = no.disabled = true;
      ok.title = no.title = t('portal.review.own');
      actions.append(ok, no, h('span', 'muted', t('portal.review.own')));
    } else {
      actions.append(ok, no);
    }
  } else {
    actions.append(button(t('portal.review.publish'), 'btn-primary', `review-publish-${it.id}`, it, () => void publish(it)));
  }
  li.append(actions);
  return li;
}

function render(): void {
  if (!loaded) return;
  ui.queue.replaceChildren(...queue.map((it) => itemElement(it, 'queue')));
  ui.queue.setAttribute('aria-busy', 'false');
  ui.queueEmpty.hidden = queue.length > 0;
  ui.queueCount.textContent = queue.length > 0 ? t('portal.review.count', { n: Math.max(queueTotal, queue.length) }) : '';
  ui.approved.replaceChildren(...approved.map((it) => itemElement(it, 'approved')));
  ui.approvedEmpty.hidden = approved.length > 0;
  ui.approvedCount.textContent = approved.length > 0 ? t('portal.review.count', { n: approved.length }) : '';
}

function say(text: string): void {
  ui.status.textContent = text;
}

function fail(it: ReviewItem, err: unknown): void {
  ui.error.textContent = t('portal.review.failed', { title: it.title || it.id, message: apiErrorText(err) });
}

/** Removes it from list, answering where it was. */
function take(list: ReviewItem[], it: ReviewItem): number {
  const i = list.findIndex((x) => keyOf(x) === keyOf(it));
  if (i >= 0) list.splice(i, 1);
  return i;
}

function putBack(list: ReviewItem[], it: ReviewItem, at: number): void {
  take(list, it);
  list.splice(at < 0 ? list.length : Math.min(at, list.length), 0, it);
}

async function approve(it: ReviewItem): Promise<void> {
  const k = keyOf(it);
  if (busy.has(k)) return;
  ui.error.textContent = '';
  // Optimistic: the item moves to "to publish" at once.
  const at = take(queue, it);
  const moved: ReviewItem = { ...it, state: 'approved' };
  approved.unshift(moved);
  busy.add(k);
  render();
  try {
    await apiSend('POST', reviewActionPath(it.kind, it.id, 'approve'));
    queueTotal = Math.max(0, queueTotal - 1);
    say(t('portal.review.approvedMsg', { title: it.title || it.id }));
  } catch (err) {
    take(approved, moved);
    putBack(queue, it, at);
    fail(it, err);
  } finally {
    busy.delete(k);
    render();
  }
}

async function publish(it: ReviewItem): Promise<void> {
  const k = keyOf(it);
  if (busy.has(k)) return;
  ui.error.textContent = '';
  const at = take(approved, it);
  busy.add(k);
  render();
  try {
    await apiSend('POST', reviewActionPath(it.kind, it.id, 'publish'));
    say(t('portal.review.publishedMsg', { title: it.title || it.id }));
  } catch (err) {
    putBack(approved, it, at);
    fail(it, err);
  } finally {
    busy.delete(k);
    render();
  }
}

async function reject(it: ReviewItem, reason: string): Promise<void> {
  const k = keyOf(it);
  if (busy.has(k)) return;
  ui.error.textContent = '';
  const at = take(queue, it);
  busy.add(k);
  render();
  try {
    await apiSend('POST', reviewActionPath(it.kind, it.id, 'reject'), { reason });
    queueTotal = Math.max(0, queueTotal - 1);
    say(t('portal.review.rejectedMsg', { title: it.title || it.id }));
  } catch (err) {
    putBack(queue, it, at);
    fail(it, err);
  } finally {
    busy.delete(k);
    render();
  }
}

let rejectOpener: HTMLElement | null = null;

function openReject(it: ReviewItem): void {
  rejecting = it;
  rejectOpener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  ui.rejectWhat.textContent = `${kindLabel(it.kind)} · ${it.title || it.id}`;
  ui.rejectReason.value = '';
  ui.rejectError.textContent = '';
  ui.dialog.showModal();
  ui.rejectReason.focus();
}

function closeReject(): void {
  rejecting = null;
  if (ui.dialog.open) ui.dialog.close();
}

ui.dialog.addEventListener('close', () => {
  rejecting = null;
  // Focus goes back where it was, or to the list when that row is gone.
  if (rejectOpener?.isConnected) rejectOpener.focus();
  else ui.queue.querySelector<HTMLElement>('button:not(:disabled)')?.focus();
});

ui.rejectCancel.addEventListener('click', closeReject);

ui.rejectForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const reason = ui.rejectReason.value.trim();
  if (!reason) {
    ui.rejectError.textContent = t('portal.review.reasonRequired');
    ui.rejectReason.focus();
    return;
  }
  const it = rejecting;
  closeReject();
  if (it) void reject(it, reason);
});

async function load(): Promise<void> {
  ui.refresh.disabled = true;
  try {
    const [q, ap, apClips] = await Promise.all([
      apiFetch<unknown>(`/review/queue?limit=${LIMIT}&offset=0`).then(parseReviewQueue),
      apiFetch<unknown>(`/lessons${lessonsQuery({ state: 'approved', sort: 'oldest', limit: LIMIT, offset: 0 })}`).then(parseLessonPage),
      apiFetch<unknown>(`/clips?state=approved&limit=${LIMIT}&offset=0`).then(parseClipList),
    ]);
    queue = mergeReviewItems(q.lessons, q.clips);
    queueTotal = q.lessonsTotal + q.clipsTotal;
    approved = [...ap.lessons.map(reviewItemOfLesson), ...apClips.map(reviewItemOfClip)];
    loaded = true;
    ui.error.textContent = '';
  } catch (err) {
    ui.error.textContent = t('portal.review.loadError', { message: apiErrorText(err) });
  } finally {
    ui.refresh.disabled = false;
  }
  render();
}

ui.refresh.addEventListener('click', () => {
  say('');
  void load();
});

onLangChange(render);

void initPortalPage({ active: 'review', roles: ['reviewer'], title: 'portal.review.title' }).then((m) => {
  if (!m) return;
  me = m;
  void load();
});
