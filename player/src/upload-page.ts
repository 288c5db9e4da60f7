// The upload page at /upload (teachers): pick or drop a video, give it a title,
// subject and grade, and send it with tus (src/upload.ts's options) in 8 MB
// chunks. Progress shows percent, speed and time left; pause and resume; after a
// browser restart, choosing the same file offers to continue where it stopped
// (tus-js-client keeps the upload URL in localStorage by the file's fingerprint).
// When every byte is there, the page waits for the server to make the lesson
// (GET on the upload URL), sets the fields the upload does not carry on it, and
// links to it.

import { Upload, type DetailedError, type PreviousUpload } from 'tus-js-client';
import { getLang, onLangChange, t } from './i18n';
import {
  apiErrorText,
  byId,
  etaSeconds,
  formatBytes,
  formatEta,
  formatSpeed,
  initPortalPage,
  lessonForUpload,
  lessonPatchFromUpload,
  lessonsQuery,
  parseLessonPage,
  SpeedMeter,
  uploadErrorText,
  uploadIdOf,
  uploadMetadata,
  type UploadFields,
} from './portal';
import { apiFetch, apiSend, CSRF_HEADER, currentUser, forgetUser, signInUrl, type Me } from './session';
import { fetchUploadState, latestPrevious, parseUploadState, lessonMetadata, progressOf, tusOptions, UPLOAD_ENDPOINT, type UploadState } from './upload';

const SUBJECTS = ['语文', '数学', '英语', '物理', '化学', '生物', '历史', '地理', '道德与法治', '思想政治', '科学', '信息技术', '音乐', '美术', '体育与健康'];
const GRADES = ['一年级', '二年级', '三年级', '四年级', '五年级', '六年级', '七年级', '八年级', '九年级', '高一', '高二', '高三'];
/** How long to wait for the server to turn a finished upload into a lesson. */
const ACCEPT_WAIT_MS = 5 * 60 * 1000;

const ui = {
  form: byId<HTMLFormElement>('upload-form'),
  drop: byId<HTMLLabelElement>('dropzone'),
  dropText: byId<HTMLSpanElement>('drop-text'),
  dropHint: byId<HTMLSpanElement>('drop-hint'),
  file: byId<HTMLInputElement>('file'),
  fileInfo: byId<HTMLParagraphElement>('file-info'),
  resumeNote: byId<HTMLDivElement>('resume-note'),
  resumeText: byId<HTMLSpanElement>('resume-text'),
  resumePrev: byId<HTMLButtonElement>('resume-prev'),
  restart: byId<HTMLButtonElement>('restart'),
  title: byId<HTMLInputElement>('title'),
  subject: byId<HTMLInputElement>('subject'),
  grade: byId<HTMLInputElement>('grade'),
  edition: byId<HTMLInputElement>('edition'),
  chapter: byId<HTMLInputElement>('chapter'),
  description: byId<HTMLTextAreaElement>('description'),
  visibility: byId<HTMLSelectElement>('visibility'),
  start: byId<HTMLButtonElement>('start'),
  section: byId<HTMLElement>('progress-section'),
  name: byId<HTMLParagraphElement>('progress-name'),
  bar: byId<HTMLDivElement>('bar'),
  fill: byId<HTMLDivElement>('bar-fill'),
  text: byId<HTMLParagraphElement>('progress-text'),
  announce: byId<HTMLParagraphElement>('announce'),
  status: byId<HTMLParagraphElement>('status'),
  error: byId<HTMLParagraphElement>('upload-error'),
  pause: byId<HTMLButtonElement>('pause'),
  resume: byId<HTMLButtonElement>('resume'),
  cancel: byId<HTMLButtonElement>('cancel'),
  success: byId<HTMLAnchorElement>('success-link'),
  another: byId<HTMLButtonElement>('another'),
};

type Phase = 'idle' | 'uploading' | 'paused' | 'error' | 'finishing' | 'done';

let me: Me | null = null;
let maxSize = 0;
let file: File | null = null;
let upload: Upload | null = null;
let previous: PreviousUpload | null = null;
let phase: Phase = 'idle';
let lastProgress = progressOf(0, 0);
let lastAnnounced = -1;
let titleEdited = false;
/** The form as it was when the upload started: the lesson gets these fields afterwards. */
let fields: UploadFields | null = null;
const meter = new SpeedMeter(5000);

/** Headers on every tus request: the session's CSRF token, read fresh each time. */
function tusHeaders(): Record<string, string> {
  return me?.csrf_token ? { [CSRF_HEADER]: me.csrf_token } : {};
}

function fill(list: HTMLElement, values: string[]): void {
  list.replaceChildren(
    ...values.map((v) => {
      const o = document.createElement('option');
      o.value = v;
      return o;
    }),
  );
}
fill(byId('subjects'), SUBJECTS);
fill(byId('grades'), GRADES);

function formFields(): UploadFields {
  return {
    title: ui.title.value.trim(),
    subject: ui.subject.value.trim(),
    grade: ui.grade.value.trim(),
    textbook_edition: ui.edition.value.trim(),
    chapter: ui.chapter.value.trim(),
    description: ui.description.value.trim(),
    visibility: ui.visibility.value,
  };
}

function renderHint(): void {
  ui.dropHint.textContent = maxSize > 0 ? t('portal.upload.dropHint', { max: formatBytes(maxSize) }) : t('portal.upload.dropHintBare');
}

function renderProgress(): void {
  const p = lastProgress;
  const lang = getLang();
  ui.fill.style.width = `${p.percent}%`;
  ui.bar.setAttribute('aria-valuenow', String(Math.floor(p.percent)));
  ui.bar.dataset.percent = String(p.percent);
  ui.bar.dataset.state = phase === 'paused' ? 'paused' : phase === 'error' ? 'error' : phase === 'done' || phase === 'finishing' ? 'done' : '';
  const parts = [t('portal.upload.progressText', { percent: p.percent.toFixed(1), sent: formatBytes(p.sent), total: formatBytes(p.total) })];
  if (phase === 'uploading') {
    const rate = meter.rate();
    const speed = formatSpeed(rate);
    if (speed) parts.push(speed);
    const eta = formatEta(etaSeconds(p.sent, p.total, rate), lang);
    if (eta) parts.push(t('portal.upload.eta', { eta }));
  }
  ui.text.textContent = parts.join(' · ');
  // Screen readers hear every tenth, not every chunk.
  const tenth = Math.floor(p.percent / 10);
  if (tenth !== lastAnnounced) {
    lastAnnounced = tenth;
    ui.announce.textContent = t('portal.upload.announce', { percent: tenth * 10 });
  }
}

function setPhase(next: Phase): void {
  phase = next;
  ui.section.dataset.phase = next;
  ui.pause.hidden = next !== 'uploading';
  ui.resume.hidden = next !== 'paused' && next !== 'error';
  ui.cancel.hidden = !(next === 'uploading' || next === 'paused' || next === 'error');
  ui.another.hidden = next !== 'done' && next !== 'error';
  ui.start.disabled = next === 'uploading' || next === 'paused' || next === 'finishing';
  ui.form.toggleAttribute('inert', next !== 'idle' && next !== 'error' && next !== 'done');
  renderProgress();
}

function showError(text: string, signIn = false): void {
  ui.error.replaceChildren(text);
  if (signIn) {
    const a = document.createElement('a');
    a.href = signInUrl('/me');
    a.target = '_blank';
    a.rel = 'noopener';
    a.textContent = ` ${t('portal.upload.signin')}`;
    a.dataset.testid = 'upload-signin';
    ui.error.append(a);
  }
}

/** Forgets the stored URLs of this file, so choosing it again starts anew. */
async function forgetStored(u: Upload): Promise<void> {
  try {
    const list = await u.findPreviousUploads();
    await Promise.all(list.map((p) => u.options.urlStorage?.removeUpload(p.urlStorageKey)));
  } catch {
    // no storage
  }
}

function newUpload(f: File, title: string, extra: Partial<UploadFields>): Upload {
  const base = tusOptions(f.name, f.size, {
    title,
    headers: tusHeaders,
    onProgress: (p) => {
      lastProgress = p;
      meter.add(performance.now(), p.sent);
      renderProgress();
    },
  });
  const meta = lessonMetadata(f.name, title);
  const u: Upload = new Upload(f, {
    ...base,
    metadata: uploadMetadata(meta.filename, meta.title, extra),
    onSuccess: () => void finished(u),
    onError: (err: Error | DetailedError) => void failed(u, err),
  });
  return u;
}

async function failed(u: Upload, err: Error | DetailedError): Promise<void> {
  if (u !== upload) return;
  const res = 'originalResponse' in err ? err.originalResponse : null;
  const status = res ? res.getStatus() : 0;
  meter.reset();
  setPhase('error');
  showError(uploadErrorText(status, res ? res.getBody() : '', getLang(), maxSize), status === 401);
  ui.status.textContent = '';
  // The server deleted a refused file (422) or never took it (413): resuming cannot help.
  if (status === 413 || status === 422 || status === 400) {
    ui.resume.hidden = true;
    ui.cancel.hidden = true;
    await forgetStored(u);
  }
}

async function finished(u: Upload): Promise<void> {
  if (u !== upload) return;
  setPhase('finishing');
  lastProgress = progressOf(lastProgress.total, lastProgress.total);
  renderProgress();
  ui.status.textContent = t('portal.upload.checking');
  const url = u.url ?? '';
  const id = uploadIdOf(url);
  // Wait until the server made the lesson: the upload's state turns "accepted".
  const deadline = Date.now() + ACCEPT_WAIT_MS;
  let state: UploadState | null = null;
  for (let delay = 500; Date.now() < deadline; delay = Math.min(delay * 1.5, 3000)) {
    state = await fetchUploadState(url, tusHeaders).catch(() => null);
    if (state?.state === 'accepted' || state?.state === 'rejected') break;
    await new Promise((r) => setTimeout(r, delay));
  }
  if (state?.state === 'rejected') {
    setPhase('error');
    ui.resume.hidden = true;
    ui.status.textContent = '';
    showError(t('portal.upload.err.rejected', { reason: state.reason ?? '' }));
    return;
  }
  let lessonId = '';
  if (state?.state === 'accepted' && id) {
    try {
      const page = parseLessonPage(await apiFetch<unknown>(`/lessons${lessonsQuery({ mine: true, sort: 'newest', limit: 50, offset: 0 })}`));
      const lesson = lessonForUpload(page.lessons, id);
      if (lesson) {
        lessonId = lesson.id;
        const patch = lessonPatchFromUpload(fields ?? {});
        if (Object.keys(patch).length > 0) {
          await apiSend('PATCH', `/lessons/${encodeURIComponent(lesson.id)}`, patch).catch((err: unknown) => {
            showError(t('portal.upload.patchFailed', { message: apiErrorText(err) }));
          });
        }
      }
    } catch {
      // the link to /me still works
    }
  }
  setPhase('done');
  ui.status.textContent = state?.state === 'accepted' ? t('portal.upload.accepted') : t('portal.upload.acceptedSlow');
  ui.success.hidden = false;
  ui.success.href = lessonId ? `/lessons/${encodeURIComponent(lessonId)}` : '/me';
  ui.success.textContent = lessonId ? t('portal.upload.openLesson') : t('portal.upload.openMe');
  ui.success.dataset.lessonId = lessonId;
  ui.success.focus();
}

/** Starts (or resumes from prev) the upload of the chosen file. */
function begin(prev: PreviousUpload | null): void {
  if (!file) {
    showError(t('portal.upload.noFile'));
    ui.file.focus();
    return;
  }
  if (maxSize > 0 && file.size > maxSize) {
    showError(uploadErrorText(413, '', getLang(), maxSize));
    return;
  }
  fields = formFields();
  showError('');
  ui.resumeNote.hidden = true;
  ui.success.hidden = true;
  ui.section.hidden = false;
  ui.name.textContent = `${file.name} · ${formatBytes(file.size)}`;
  lastProgress = progressOf(0, file.size);
  lastAnnounced = -1;
  meter.reset();
  upload = newUpload(file, fields.title, fields);
  if (prev) upload.resumeFromPreviousUpload(prev);
  ui.status.textContent = t('portal.upload.uploading');
  setPhase('uploading');
  upload.start();
  ui.section.scrollIntoView({ block: 'nearest' });
}

/** The server's state of an earlier upload; gone when it no longer has it (404) or it is another user's (403). */
async function previousState(url: string): Promise<{ state: UploadState | null; gone: boolean }> {
  try {
    const res = await fetch(url, { headers: { Accept: 'application/json', ...tusHeaders() }, credentials: 'same-origin' });
    if (res.status === 404 || res.status === 403) return { state: null, gone: true };
    if (!res.ok) return { state: null, gone: false };
    return { state: parseUploadState(await res.json()), gone: false };
  } catch {
    return { state: null, gone: false };
  }
}

/** A file was chosen: show it, and look for an unfinished upload of the same file. */
async function choose(f: File): Promise<void> {
  if (phase === 'uploading' || phase === 'paused' || phase === 'finishing') return;
  file = f;
  previous = null;
  showError('');
  ui.section.hidden = true;
  setPhase('idle');
  ui.fileInfo.hidden = false;
  ui.fileInfo.textContent = t('portal.upload.fileInfo', { name: f.name, size: formatBytes(f.size) });
  if (!titleEdited || ui.title.value.trim() === '') {
    ui.title.value = lessonMetadata(f.name, '').title;
    titleEdited = false;
  }
  ui.resumeNote.hidden = true;
  const probe = newUpload(f, ui.title.value, {});
  let list: PreviousUpload[] = [];
  try {
    list = await probe.findPreviousUploads();
  } catch {
    return; // no storage: nothing to resume
  }
  const prev = latestPrevious(list);
  if (!prev?.uploadUrl || file !== f) return;
  const { state, gone } = await previousState(prev.uploadUrl);
  if (file !== f) return;
  // Unknown state (the server did not answer): offer it anyway; tus starts anew if
  // the server no longer has it.
  if (gone || (state && (state.state !== 'uploading' || (state.size > 0 && state.size !== f.size)))) {
    // Finished, being added, refused, or another file: nothing to resume.
    await forgetStored(probe);
    return;
  }
  previous = prev;
  // Fill the form as it was for that upload.
  const m = prev.metadata ?? {};
  if (m.title) ui.title.value = m.title;
  if (m.subject && !ui.subject.value) ui.subject.value = m.subject;
  if (m.grade && !ui.grade.value) ui.grade.value = m.grade;
  if (m.textbook_edition && !ui.edition.value) ui.edition.value = m.textbook_edition;
  if (m.chapter && !ui.chapter.value) ui.chapter.value = m.chapter;
  if (m.visibility) ui.visibility.value = m.visibility;
  const pct = state && state.size > 0 ? Math.floor((state.offset / state.size) * 100) : -1;
  ui.resumeText.textContent = pct >= 0 ? t('portal.upload.resumeFound', { percent: pct }) : t('portal.upload.resumeFoundBare');
  ui.resumeNote.hidden = false;
}

ui.file.addEventListener('change', () => {
  const f = ui.file.files?.[0];
  if (f) void choose(f);
});

// Drag and drop onto the drop zone (the whole page accepts the drop, so a missed
// target does not make the browser open the video instead).
let dragDepth = 0;
document.addEventListener('dragenter', (e) => {
  if (!e.dataTransfer?.types.includes('Files')) return;
  dragDepth++;
  ui.drop.dataset.over = 'true';
  ui.dropText.textContent = t('portal.upload.dropOver');
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) {
    delete ui.drop.dataset.over;
    ui.dropText.textContent = t('portal.upload.drop');
  }
});
document.addEventListener('dragover', (e) => {
  if (e.dataTransfer?.types.includes('Files')) e.preventDefault();
});
document.addEventListener('drop', (e) => {
  if (!e.dataTransfer?.types.includes('Files')) return;
  e.preventDefault();
  dragDepth = 0;
  delete ui.drop.dataset.over;
  ui.dropText.textContent = t('portal.upload.drop');
  const f = e.dataTransfer.files[0];
  if (f) void choose(f);
});

ui.title.addEventListener('input', () => (titleEdited = true));

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  begin(previous);
});
ui.resumePrev.addEventListener('click', () => begin(previous));
ui.restart.addEventListener('click', () => {
  previous = null;
  begin(null);
});

ui.pause.addEventListener('click', () => {
  if (!upload || phase !== 'uploading') return;
  setPhase('paused');
  meter.reset();
  ui.status.textContent = t('portal.upload.paused');
  void upload.abort(false);
  ui.resume.focus();
});

ui.resume.addEventListener('click', () => {
  if (!upload) return;
  showError('');
  // After a sign-in in another tab the CSRF token changed: ask again.
  forgetUser();
  void currentUser()
    .catch(() => null)
    .then((m) => {
      if (m) me = m;
      if (!upload) return;
      meter.reset();
      ui.status.textContent = t('portal.upload.uploading');
      setPhase('uploading');
      upload.start();
      ui.pause.focus();
    });
});

ui.cancel.addEventListener('click', () => {
  if (!upload || !confirm(t('portal.upload.cancelConfirm'))) return;
  const u = upload;
  upload = null;
  void u.abort(true).catch(() => undefined);
  void forgetStored(u);
  setPhase('idle');
  ui.section.hidden = true;
  ui.status.textContent = '';
  showError(t('portal.upload.cancelled'));
});

ui.another.addEventListener('click', () => {
  upload = null;
  file = null;
  previous = null;
  titleEdited = false;
  ui.form.reset();
  ui.fileInfo.hidden = true;
  ui.section.hidden = true;
  ui.success.hidden = true;
  showError('');
  ui.status.textContent = '';
  setPhase('idle');
  ui.file.focus();
});

window.addEventListener('beforeunload', (e) => {
  if (phase === 'uploading' || phase === 'finishing') {
    e.preventDefault();
    e.returnValue = t('portal.upload.leave');
  }
});

onLangChange(() => {
  renderHint();
  renderProgress();
  if (file) ui.fileInfo.textContent = t('portal.upload.fileInfo', { name: file.name, size: formatBytes(file.size) });
});

/** The server's upload size limit, from the tus discovery answer; 0 when unknown. */
async function discoverMaxSize(): Promise<number> {
  try {
    const res = await fetch(UPLOAD_ENDPOINT, { method: 'OPTIONS' });
    const v = Number(res.headers.get('Tus-Max-Size'));
    return Number.isFinite(v) && v > 0 ? v : 0;
  } catch {
    return 0;
  }
}

renderHint();
void initPortalPage({ active: 'upload', roles: ['teacher'], title: 'portal.upload.title.page' }).then(async (m) => {
  if (!m) return;
  me = m;
  maxSize = await discoverMaxSize();
  renderHint();
});
