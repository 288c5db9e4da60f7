// The lesson page, /lessons/<id>: the lesson's video (vodplayer.ts, with its
// processing state while not ready), its details and review state, the owner's
// edit form, 提交审核, caption tracks, the micro-lectures cut from it with their
// processing progress, and the owner's clip editor (clip-editor.ts).

import './styles/base.css';
import './styles/lesson.css';
import { apiGet } from './api';
import { assetStepLabel, isSettled, parseAsset, type Asset } from './assets';
import { mountClipEditor, type ClipEditor } from './clip-editor';
import { formatClock } from './clip-range';
import { formatDuration } from './format';
import { getLang, onLangChange, t, type MessageKey } from './i18n';
import {
  canEdit,
  idFromPath,
  lessonPatch,
  owns,
  parseClip,
  parseClipList,
  parseLesson,
  parsePoints,
  splitPoints,
  VISIBILITIES,
  type Caller,
  type Clip,
  type Lesson,
} from './lesson-model';
import { renderReviewButtons } from './lesson-review';
import { apiErrorText, assetBadge, badge, byId, h, initPortalPage, reviewBadge } from './portal';
import { apiFetch, apiSend } from './session';
import { captionContentType, parseCaptionList, validCaptionLang, type CaptionTrack } from './vodplayer-captions';
import { mountVodPlayer, type VodPlayer } from './vodplayer';

const CLIP_POLL_MS = 3000;
/** Stop watching clip progress after this long without a change (a stuck task should not poll forever). */
const CLIP_POLL_IDLE_MS = 30 * 60 * 1000;

const ui = {
  pageError: byId<HTMLParagraphElement>('page-error'),
  playerRoot: byId<HTMLDivElement>('player-root'),
  noAsset: byId<HTMLParagraphElement>('no-asset'),
  editor: byId<HTMLElement>('editor'),
  editorWait: byId<HTMLParagraphElement>('editor-wait'),
  title: byId<HTMLHeadingElement>('lesson-title'),
  state: byId<HTMLSpanElement>('lesson-state'),
  reason: byId<HTMLParagraphElement>('lesson-reason'),
  reviewError: byId<HTMLParagraphElement>('review-error'),
  reviewActions: byId<HTMLDivElement>('review-actions'),
  editToggle: byId<HTMLButtonElement>('edit-toggle'),
  deleteLesson: byId<HTMLButtonElement>('lesson-delete'),
  details: byId<HTMLDListElement>('details'),
  form: byId<HTMLFormElement>('lesson-form'),
  fTitle: byId<HTMLInputElement>('lf-title'),
  fSubject: byId<HTMLInputElement>('lf-subject'),
  fGrade: byId<HTMLInputElement>('lf-grade'),
  fEdition: byId<HTMLInputElement>('lf-edition'),
  fChapter: byId<HTMLInputElement>('lf-chapter'),
  fPoints: byId<HTMLTextAreaElement>('lf-points'),
  fDescription: byId<HTMLTextAreaElement>('lf-description'),
  fVisibility: byId<HTMLSelectElement>('lf-visibility'),
  formError: byId<HTMLParagraphElement>('lesson-form-error'),
  cancel: byId<HTMLButtonElement>('lesson-cancel'),
  save: byId<HTMLButtonElement>('lesson-save'),
  ok: byId<HTMLParagraphElement>('lesson-ok'),
  clips: byId<HTMLUListElement>('clips'),
  clipsEmpty: byId<HTMLParagraphElement>('clips-empty'),
  captions: byId<HTMLUListElement>('captions'),
  captionsEmpty: byId<HTMLParagraphElement>('captions-empty'),
  captionForm: byId<HTMLFormElement>('caption-form'),
  captionLang: byId<HTMLInputElement>('caption-lang'),
  captionLabel: byId<HTMLInputElement>('caption-label'),
  captionFile: byId<HTMLInputElement>('caption-file'),
  captionError: byId<HTMLParagraphElement>('caption-error'),
  captionOk: byId<HTMLParagraphElement>('caption-ok'),
  captionUpload: byId<HTMLButtonElement>('caption-upload'),
};

const pageUrl = new URL(location.href);
const lessonId = idFromPath(pageUrl, 'lessons');
const share = pageUrl.searchParams.get('share');
/** "?share=..." for the API calls of a link-shared lesson, '' otherwise. */
const shareQuery = share ? `?share=${encodeURIComponent(share)}` : '';

let caller: Caller | null = null;
let lesson: Lesson | null = null;
let player: VodPlayer | null = null;
let editor: ClipEditor | null = null;
let clips: Clip[] = [];
/** Clip assets by asset id, as last fetched. */
const clipAssets = new Map<string, Asset>();
let captions: CaptionTrack[] = [];
let okNote: MessageKey | null = null;

/** What browser tests read besides the player: window.__classcast.lesson. */
const debug = { id: lessonId, state: '', clips: [] as { id: string; state: string; asset_id: string; asset_state: string; percent: number }[], captions: [] as string[] };
const w = window as unknown as { __classcast?: Record<string, unknown> };
w.__classcast = { ...(w.__classcast ?? {}), lesson: debug };

function showPageError(text: string) {
  ui.pageError.textContent = text;
  ui.pageError.hidden = text === '';
}

function setText(p: HTMLElement, text: string) {
  p.textContent = text;
  p.hidden = text === '';
}

// ---------------------------------------------------------------- the lesson

async function load() {
  if (!lessonId) {
    showPageError(t('lesson.badId'));
    return;
  }
  try {
    lesson = parseLesson(await apiFetch<unknown>(`/lessons/${encodeURIComponent(lessonId)}${shareQuery}`));
  } catch (err) {
    showPageError(t('lesson.loadError', { message: apiErrorText(err) }));
    return;
  }
  if (!lesson) {
    showPageError(t('lesson.loadError', { message: 'bad lesson JSON' }));
    return;
  }
  renderLesson();
  mountPlayer(lesson);
  void loadClips();
  void loadCaptions();
}

function mountPlayer(l: Lesson) {
  ui.noAsset.hidden = l.asset_id !== '';
  ui.playerRoot.hidden = l.asset_id === '';
  if (!l.asset_id) return;
  const mine = owns(caller, l.teacher_id);
  player = mountVodPlayer(ui.playerRoot, l.asset_id, {
    share,
    autoplay: false,
    onDuration: (d) => editor?.setDuration(d),
    onTime: (s) => editor?.onTime(s),
    onStoryboard: (cues) => editor?.setCues(cues),
    onAsset: (a) => {
      if (a.state !== 'ready') ui.editorWait.hidden = false;
    },
  });
  if (mine) {
    ui.editor.hidden = false;
    editor = mountClipEditor(player, l, (c) => {
      clips = [...clips.filter((x) => x.id !== c.id), c];
      renderClips();
      void loadClips();
    });
    if (l.subject && l.grade) void loadPoints(l.subject, l.grade);
  }
}

async function loadPoints(subject: string, grade: string) {
  try {
    const body = await apiFetch<unknown>(`/knowledge-points?subject=${encodeURIComponent(subject)}&grade=${encodeURIComponent(grade)}`);
    editor?.setPoints(parsePoints(body));
  } catch (err) {
    console.info(`classcast: no curriculum for ${subject}/${grade}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function renderLesson() {
  const l = lesson;
  if (!l) return;
  const lang = getLang();
  debug.state = l.state;
  document.title = t('lesson.pageTitle', { title: l.title || l.id });
  ui.title.textContent = l.title || l.id;
  ui.state.replaceChildren(badge('review', reviewBadge(l.state, lang)));
  ui.state.dataset.state = l.state;
  setText(ui.reason, l.state === 'rejected' && l.reject_reason ? t('lesson.rejectReason', { reason: l.reject_reason }) : '');
  renderReviewButtons(ui.reviewActions, {
    caller,
    ownerId: l.teacher_id,
    state: l.state,
    base: `/lessons/${encodeURIComponent(l.id)}`,
    testPrefix: 'lesson',
    onDone: (body) => {
      const nl = parseLesson(body);
      if (nl) lesson = nl;
      setText(ui.reviewError, '');
      renderLesson();
    },
    onError: (m) => setText(ui.reviewError, m),
  });

  const rows: [MessageKey, string][] = [
    ['lesson.f.teacher', l.teacher_name],
    ['lesson.f.school', l.school_id],
    ['lesson.f.subject', l.subject],
    ['lesson.f.grade', l.grade],
    ['lesson.f.edition', l.textbook_edition],
    ['lesson.f.chapter', l.chapter],
    ['lesson.f.points', l.knowledge_points.join('、')],
    ['lesson.f.duration', l.duration_ms > 0 ? formatDuration(l.duration_ms / 1000) : ''],
    ['lesson.f.origin', l.origin === 'recording' || l.origin === 'upload' ? t(`lesson.origin.${l.origin}`) : l.origin],
    ['lesson.f.visibility', (VISIBILITIES as readonly string[]).includes(l.visibility) ? t(`lesson.vis.${l.visibility as (typeof VISIBILITIES)[number]}`) : l.visibility],
    ['lesson.f.description', l.description],
  ];
  ui.details.replaceChildren(
    ...rows
      .filter(([, v]) => v !== '')
      .flatMap(([k, v]) => {
        const dt = h('dt', undefined, t(k));
        const dd = h('dd', k === 'lesson.f.description' ? 'details-description' : undefined, v);
        dd.dataset.testid = `lesson-${k.slice('lesson.f.'.length)}`;
        return [dt, dd];
      }),
  );
  const editable = canEdit(caller, l.teacher_id, l.state);
  ui.editToggle.hidden = !editable || !ui.form.hidden;
  // The server's rule for deleting is the one for editing: the owner in draft or
  // rejected, an admin always.
  ui.deleteLesson.hidden = !editable;
  if (!editable) ui.form.hidden = true;
  ui.details.hidden = !ui.form.hidden;
  ui.ok.textContent = okNote ? t(okNote) : '';
  ui.captionForm.hidden = !owns(caller, l.teacher_id);
}

// ---------------------------------------------------------------- editing

function fillForm(l: Lesson) {
  ui.fTitle.value = l.title;
  ui.fSubject.value = l.subject;
  ui.fGrade.value = l.grade;
  ui.fEdition.value = l.textbook_edition;
  ui.fChapter.value = l.chapter;
  ui.fPoints.value = l.knowledge_points.join('，');
  ui.fDescription.value = l.description;
  renderVisibilityOptions();
  ui.fVisibility.value = l.visibility || 'school';
}

function renderVisibilityOptions() {
  const value = ui.fVisibility.value;
  ui.fVisibility.replaceChildren(
    ...VISIBILITIES.map((v) => {
      const o = h('option', undefined, t(`lesson.vis.${v}`));
      o.value = v;
      return o;
    }),
  );
  if (value) ui.fVisibility.value = value;
}

ui.editToggle.addEventListener('click', () => {
  if (!lesson) return;
  fillForm(lesson);
  okNote = null;
  setText(ui.formError, '');
  ui.form.hidden = false;
  renderLesson();
  ui.fTitle.focus();
});

ui.deleteLesson.addEventListener('click', () => {
  const l = lesson;
  if (!l || !confirm(t('lesson.delete.confirm', { title: l.title }))) return;
  ui.deleteLesson.disabled = true;
  apiSend('DELETE', `/lessons/${encodeURIComponent(l.id)}`)
    .then(() => location.assign('/me'))
    .catch((err: unknown) => {
      ui.deleteLesson.disabled = false;
      showPageError(t('lesson.delete.error', { message: apiErrorText(err) }));
    });
});

ui.cancel.addEventListener('click', () => {
  ui.form.hidden = true;
  renderLesson();
});

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void saveLesson();
});

async function saveLesson() {
  if (!lesson) return;
  const patch = lessonPatch(lesson, {
    title: ui.fTitle.value,
    subject: ui.fSubject.value,
    grade: ui.fGrade.value,
    textbook_edition: ui.fEdition.value,
    chapter: ui.fChapter.value,
    description: ui.fDescription.value,
    knowledge_points: splitPoints(ui.fPoints.value),
    visibility: ui.fVisibility.value,
  });
  if (patch.title !== undefined && patch.title === '') {
    setText(ui.formError, t('clip.err.title'));
    return;
  }
  ui.save.disabled = true;
  try {
    if (Object.keys(patch).length > 0) {
      const nl = parseLesson(await apiSend('PATCH', `/lessons/${encodeURIComponent(lesson.id)}`, patch));
      if (nl) lesson = nl;
    }
    okNote = 'lesson.saved';
    setText(ui.formError, '');
    ui.form.hidden = true;
    renderLesson();
  } catch (err) {
    setText(ui.formError, apiErrorText(err));
  } finally {
    ui.save.disabled = false;
  }
}

// ---------------------------------------------------------------- micro-lectures

let clipTimer = 0;
let clipChangedAt = Date.now();

async function loadClips() {
  clearTimeout(clipTimer);
  if (!lesson) return;
  try {
    const list = parseClipList(await apiFetch<unknown>(`/lessons/${encodeURIComponent(lesson.id)}/clips${shareQuery}`));
    if (JSON.stringify(list) !== JSON.stringify(clips)) clipChangedAt = Date.now();
    clips = list;
  } catch (err) {
    console.warn(`classcast: clips of ${lesson.id}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // The assets of clips still being cut: their state and percent.
  await Promise.all(
    clips
      .filter((c) => c.asset_id && !isSettled(clipAssets.get(c.asset_id)?.state ?? ''))
      .map(async (c) => {
        try {
          const a = parseAsset(await apiGet<unknown>(`/assets/${encodeURIComponent(c.asset_id)}${shareQuery}`));
          if (!a) return;
          const old = clipAssets.get(a.id);
          if (!old || old.state !== a.state || old.percent !== a.percent) clipChangedAt = Date.now();
          clipAssets.set(a.id, a);
        } catch {
          // shown as waiting; the next poll tries again
        }
      }),
  );
  renderClips();
  const busy = clips.some((c) => !c.asset_id || !isSettled(clipAssets.get(c.asset_id)?.state ?? ''));
  if (busy && Date.now() - clipChangedAt < CLIP_POLL_IDLE_MS && document.visibilityState !== 'hidden') {
    clipTimer = window.setTimeout(() => void loadClips(), CLIP_POLL_MS);
  }
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && lesson) void loadClips();
});

function renderClips() {
  const lang = getLang();
  ui.clipsEmpty.hidden = clips.length > 0;
  debug.clips = clips.map((c) => {
    const a = c.asset_id ? clipAssets.get(c.asset_id) : undefined;
    return { id: c.id, state: c.state, asset_id: c.asset_id, asset_state: a?.state ?? '', percent: a?.percent ?? 0 };
  });
  ui.clips.replaceChildren(
    ...clips.map((c) => {
      const a = c.asset_id ? clipAssets.get(c.asset_id) : undefined;
      const li = h('li', 'item clip-row');
      li.dataset.testid = 'clip-row';
      li.dataset.clipId = c.id;
      li.dataset.state = c.state;
      li.dataset.assetState = a?.state ?? '';
      const head = h('div', 'item-head');
      const title = h('h3', 'item-title');
      const link = h('a', undefined, c.title || c.id);
      link.href = `/clips/${encodeURIComponent(c.id)}${shareQuery}`;
      link.dataset.testid = 'clip-link';
      title.append(link);
      const review = badge('review', reviewBadge(c.state, lang));
      review.dataset.testid = 'clip-review-state';
      const media = a ? assetBadge(a.state, a.percent, lang) : { label: t('lesson.clips.waiting'), state: 'queued' };
      const mediaBadge = badge('state', media);
      mediaBadge.dataset.testid = 'clip-asset-state';
      if (a?.state === 'processing' && a.step) mediaBadge.title = assetStepLabel(a.step, lang);
      head.append(title, review, mediaBadge);
      const meta = h('div', 'item-meta');
      const range = h('span', 'mono', t('lesson.clips.range', { from: formatClock(c.start_ms / 1000), to: formatClock(c.end_ms / 1000) }));
      range.dataset.testid = 'clip-range';
      meta.append(range);
      if (c.knowledge_point) meta.append(h('span', undefined, c.knowledge_point));
      li.append(head, meta);
      if (a?.state === 'processing') {
        const bar = h('div', 'bar');
        const fill = h('div', 'bar-fill');
        fill.style.width = `${Math.min(100, Math.max(0, a.percent))}%`;
        bar.append(fill);
        li.append(bar);
      }
      if (c.state === 'rejected' && c.reject_reason) li.append(h('p', 'item-reason', t('lesson.rejectReason', { reason: c.reject_reason })));
      // The same review buttons as the clip's own page (clip-row-submit, clip-row-approve, ...).
      const actions = h('div', 'actions');
      renderReviewButtons(actions, {
        caller,
        ownerId: c.teacher_id,
        state: c.state,
        base: `/clips/${encodeURIComponent(c.id)}`,
        testPrefix: 'clip-row',
        onDone: (body) => {
          const nc = parseClip(body);
          if (nc) clips = clips.map((x) => (x.id === nc.id ? nc : x));
          renderClips();
        },
        onError: (m) => setText(ui.pageError, m),
      });
      if (canEdit(caller, c.teacher_id, c.state)) {
        const del = h('button', 'btn btn-small btn-danger', t('lesson.clips.delete'));
        del.type = 'button';
        del.dataset.testid = 'clip-row-delete';
        del.addEventListener('click', () => {
          if (!confirm(t('lesson.clips.deleteConfirm', { title: c.title || c.id }))) return;
          del.disabled = true;
          apiSend('DELETE', `/clips/${encodeURIComponent(c.id)}`)
            .then(() => {
              clips = clips.filter((x) => x.id !== c.id);
              renderClips();
            })
            .catch((err: unknown) => {
              del.disabled = false;
              setText(ui.pageError, t('lesson.delete.error', { message: apiErrorText(err) }));
            });
        });
        actions.append(del);
        actions.hidden = false;
      }
      if (!actions.hidden) li.append(actions);
      return li;
    }),
  );
}

// ---------------------------------------------------------------- captions

async function loadCaptions() {
  if (!lesson) return;
  try {
    captions = parseCaptionList(await apiFetch<unknown>(`/lessons/${encodeURIComponent(lesson.id)}/captions${shareQuery}`));
  } catch (err) {
    console.warn(`classcast: captions of ${lesson.id}: ${err instanceof Error ? err.message : String(err)}`);
    captions = [];
  }
  player?.setCaptions(captions);
  renderCaptions();
}

function renderCaptions() {
  const mine = lesson !== null && owns(caller, lesson.teacher_id);
  debug.captions = captions.map((c) => c.lang);
  ui.captionsEmpty.hidden = captions.length > 0;
  ui.captions.replaceChildren(
    ...captions.map((c) => {
      const li = h('li', 'item caption-row');
      li.dataset.testid = 'caption-row';
      li.dataset.lang = c.lang;
      const head = h('div', 'item-head');
      const name = h('p', 'item-title', c.label);
      const code = h('span', 'mono muted', c.lang);
      const file = h('a', 'btn btn-small', 'WebVTT');
      file.href = c.url;
      file.target = '_blank';
      head.append(name, code, file);
      if (mine) {
        const del = h('button', 'btn btn-small btn-danger', t('lesson.captions.delete'));
        del.type = 'button';
        del.dataset.testid = 'caption-delete';
        del.addEventListener('click', () => void deleteCaption(c.lang, del));
        head.append(del);
      }
      li.append(head);
      return li;
    }),
  );
}

async function deleteCaption(lang: string, button: HTMLButtonElement) {
  if (!lesson) return;
  button.disabled = true;
  try {
    await apiSend('DELETE', `/lessons/${encodeURIComponent(lesson.id)}/captions/${encodeURIComponent(lang)}`);
    await loadCaptions();
  } catch (err) {
    setText(ui.captionError, apiErrorText(err));
    button.disabled = false;
  }
}

ui.captionForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void uploadCaption();
});

async function uploadCaption() {
  if (!lesson) return;
  ui.captionOk.textContent = '';
  const lang = ui.captionLang.value.trim();
  if (!validCaptionLang(lang)) {
    setText(ui.captionError, t('lesson.captions.badLang'));
    return;
  }
  const file = ui.captionFile.files?.[0];
  const type = file ? captionContentType(file.name) : null;
  if (!file || !type) {
    setText(ui.captionError, t('lesson.captions.badFile'));
    return;
  }
  setText(ui.captionError, '');
  ui.captionUpload.disabled = true;
  try {
    const label = ui.captionLabel.value.trim();
    const q = label ? `?label=${encodeURIComponent(label)}` : '';
    await apiSend('PUT', `/lessons/${encodeURIComponent(lesson.id)}/captions/${encodeURIComponent(lang)}${q}`, file, type);
    ui.captionOk.textContent = t('lesson.captions.uploaded');
    ui.captionFile.value = '';
    await loadCaptions();
  } catch (err) {
    setText(ui.captionError, apiErrorText(err));
  } finally {
    ui.captionUpload.disabled = false;
  }
}

// ---------------------------------------------------------------- start

onLangChange(() => {
  renderLesson();
  renderVisibilityOptions();
  renderClips();
  renderCaptions();
  editor?.render();
});

void (async () => {
  const me = await initPortalPage({ active: 'library' });
  caller = me ? { id: me.user.id, role: me.user.role } : null;
  await load();
})();
