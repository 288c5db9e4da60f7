// The micro-lecture page, /clips/<id>: the clip's own video (its asset, made by
// the cutting task; "preparing" until it has one), title, knowledge point, the
// lesson it was cut from, review state and reason, and the review buttons the
// caller may press (the owner's submit; reviewers' approve, reject, publish).

import './styles/base.css';
import './styles/lesson.css';
import { formatClock } from './clip-range';
import { getLang, onLangChange, t, type MessageKey } from './i18n';
import { idFromPath, parseClip, parseLesson, VISIBILITIES, type Caller, type Clip, type Lesson } from './lesson-model';
import { renderReviewButtons } from './lesson-review';
import { apiErrorText, badge, byId, h, initPortalPage, reviewBadge } from './portal';
import { apiFetch } from './session';
import { mountVodPlayer, type VodPlayer } from './vodplayer';

const POLL_MS = 3000;

const ui = {
  pageError: byId<HTMLParagraphElement>('page-error'),
  playerRoot: byId<HTMLDivElement>('player-root'),
  waiting: byId<HTMLParagraphElement>('clip-waiting'),
  title: byId<HTMLHeadingElement>('clip-title'),
  state: byId<HTMLSpanElement>('clip-state'),
  reason: byId<HTMLParagraphElement>('clip-reason'),
  reviewError: byId<HTMLParagraphElement>('review-error'),
  reviewActions: byId<HTMLDivElement>('review-actions'),
  details: byId<HTMLDListElement>('details'),
};

const pageUrl = new URL(location.href);
const clipId = idFromPath(pageUrl, 'clips');
const share = pageUrl.searchParams.get('share');
const shareQuery = share ? `?share=${encodeURIComponent(share)}` : '';

let caller: Caller | null = null;
let clip: Clip | null = null;
let lesson: Lesson | null = null;
let player: VodPlayer | null = null;
let pollTimer = 0;

/** What browser tests read besides the player: window.__classcast.clip. */
const debug = { id: clipId, state: '', asset_id: '' };
const w = window as unknown as { __classcast?: Record<string, unknown> };
w.__classcast = { ...(w.__classcast ?? {}), clip: debug };

function setText(p: HTMLElement, text: string) {
  p.textContent = text;
  p.hidden = text === '';
}

async function load() {
  clearTimeout(pollTimer);
  if (!clipId) {
    setText(ui.pageError, t('clip.badId'));
    return;
  }
  try {
    clip = parseClip(await apiFetch<unknown>(`/clips/${encodeURIComponent(clipId)}${shareQuery}`));
  } catch (err) {
    setText(ui.pageError, t('clip.loadError', { message: apiErrorText(err) }));
    return;
  }
  if (!clip) {
    setText(ui.pageError, t('clip.loadError', { message: 'bad clip JSON' }));
    return;
  }
  setText(ui.pageError, '');
  render();
  if (!lesson && clip.lesson_id) void loadLesson(clip.lesson_id);
  if (clip.asset_id) {
    ui.waiting.hidden = true;
    if (!player) player = mountVodPlayer(ui.playerRoot, clip.asset_id, { share });
  } else {
    // The cutting task has not made the clip's media yet: look again.
    ui.waiting.hidden = false;
    pollTimer = window.setTimeout(() => void load(), POLL_MS);
  }
}

async function loadLesson(id: string) {
  try {
    lesson = parseLesson(await apiFetch<unknown>(`/lessons/${encodeURIComponent(id)}${shareQuery}`));
  } catch {
    lesson = null; // the link still goes there; the title is unknown
  }
  render();
}

function render() {
  const c = clip;
  if (!c) return;
  const lang = getLang();
  debug.state = c.state;
  debug.asset_id = c.asset_id;
  document.title = t('clip.pageTitle', { title: c.title || c.id });
  ui.title.textContent = c.title || c.id;
  ui.state.replaceChildren(badge('review', reviewBadge(c.state, lang)));
  ui.state.dataset.state = c.state;
  setText(ui.reason, c.state === 'rejected' && c.reject_reason ? t('lesson.rejectReason', { reason: c.reject_reason }) : '');
  renderReviewButtons(ui.reviewActions, {
    caller,
    ownerId: c.teacher_id,
    state: c.state,
    base: `/clips/${encodeURIComponent(c.id)}`,
    testPrefix: 'clip',
    onDone: (body) => {
      const nc = parseClip(body);
      if (nc) clip = nc;
      setText(ui.reviewError, '');
      render();
    },
    onError: (m) => setText(ui.reviewError, m),
  });

  const dl: HTMLElement[] = [];
  const row = (key: MessageKey, value: string | HTMLElement, testid: string) => {
    if (value === '') return;
    const dd = h('dd');
    dd.dataset.testid = testid;
    if (typeof value === 'string') dd.textContent = value;
    else dd.append(value);
    dl.push(h('dt', undefined, t(key)), dd);
  };
  row('clip.f.point', c.knowledge_point, 'clip-knowledge-point');
  if (c.lesson_id) {
    const a = h('a', undefined, lesson?.title || c.lesson_id);
    a.href = `/lessons/${encodeURIComponent(c.lesson_id)}${shareQuery}`;
    a.dataset.testid = 'clip-lesson-link';
    row('clip.fromLesson', a, 'clip-lesson');
  }
  row('clip.range', `${formatClock(c.start_ms / 1000)} – ${formatClock(c.end_ms / 1000)}`, 'clip-range');
  row('lesson.f.subject', c.subject, 'clip-subject');
  row('lesson.f.grade', c.grade, 'clip-grade');
  if (lesson?.teacher_name) row('lesson.f.teacher', lesson.teacher_name, 'clip-teacher');
  row(
    'lesson.f.visibility',
    (VISIBILITIES as readonly string[]).includes(c.visibility) ? t(`lesson.vis.${c.visibility as (typeof VISIBILITIES)[number]}`) : c.visibility,
    'clip-visibility-value',
  );
  ui.details.replaceChildren(...dl);
}

onLangChange(render);

void (async () => {
  const me = await initPortalPage({ active: 'library' });
  caller = me ? { id: me.user.id, role: me.user.role } : null;
  await load();
})();
