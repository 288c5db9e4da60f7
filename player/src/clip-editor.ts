// The clip editor of the lesson page (owner only): a timeline of the lesson's
// storyboard thumbnails under the player with draggable in and out handles
// (mouse and touch), 设为起点/设为终点 (keys I and O) from the playhead, exact
// mm:ss.mmm fields snapped to frames, a preview that plays from in to out and
// stops, and the form that saves the micro-lecture
// (POST /api/v1/lessons/{id}/clips).
//
// Its state is window.__classcast.clipEditor, for browser tests.

import { checkRange, clampIn, clampOut, DEFAULT_FPS, formatClock, initialRange, parseClock, snapToFrame, toMs } from './clip-range';
import { timelineTiles, timeToX, xToTime } from './clip-timeline';
import { t } from './i18n';
import { parseClip, VISIBILITIES, type Clip, type Lesson } from './lesson-model';
import { apiErrorText } from './portal';
import { previewBox } from './seekbar';
import { apiSend } from './session';
import type { StoryboardCue } from './storyboard';
import type { VodPlayer } from './vodplayer';

/** What browser tests read: window.__classcast.clipEditor. */
export interface ClipEditorDebug {
  /** Seconds, snapped to frames. */
  in: number;
  out: number;
  duration: number;
  previewing: boolean;
  /** The i18n key of what is wrong with the range or form, '' when it can be saved. */
  problem: string;
  /** The last clip saved from this page, null before. */
  saved: { id: string; asset_id: string } | null;
  thumbnails: number;
}

export interface ClipEditor {
  /** The video's duration became known (or changed). */
  setDuration(seconds: number): void;
  setCues(cues: StoryboardCue[]): void;
  /** The curriculum's knowledge points to offer. */
  setPoints(points: string[]): void;
  /** Redraws texts after a language switch. */
  render(): void;
  /** The playhead moved. */
  onTime(seconds: number): void;
}

function $<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`lesson.html lacks #${id}`);
  return e as T;
}

/**
 * Wires the editor markup of lesson.html to player for lesson; onSaved gets each
 * new clip. The editor shows once the video's duration is known.
 */
export function mountClipEditor(player: VodPlayer, lesson: Lesson, onSaved: (c: Clip) => void): ClipEditor {
  // The lesson's own frame rate once the player knows it; PAL's 25 until then.
  const fps = () => player.frameRate() || DEFAULT_FPS;
  const ui = {
    body: $<HTMLDivElement>('editor-body'),
    wait: $<HTMLParagraphElement>('editor-wait'),
    timeline: $<HTMLDivElement>('timeline'),
    strip: $<HTMLDivElement>('timeline-strip'),
    shadeBefore: $<HTMLDivElement>('shade-before'),
    shadeAfter: $<HTMLDivElement>('shade-after'),
    range: $<HTMLDivElement>('timeline-range'),
    playhead: $<HTMLDivElement>('timeline-playhead'),
    handleIn: $<HTMLDivElement>('handle-in'),
    handleOut: $<HTMLDivElement>('handle-out'),
    inField: $<HTMLInputElement>('clip-in'),
    outField: $<HTMLInputElement>('clip-out'),
    setIn: $<HTMLButtonElement>('set-in'),
    setOut: $<HTMLButtonElement>('set-out'),
    length: $<HTMLSpanElement>('clip-length'),
    preview: $<HTMLButtonElement>('clip-preview'),
    form: $<HTMLFormElement>('clip-form'),
    title: $<HTMLInputElement>('clip-title'),
    point: $<HTMLInputElement>('clip-point'),
    points: $<HTMLDataListElement>('clip-points'),
    visibility: $<HTMLSelectElement>('clip-visibility'),
    error: $<HTMLParagraphElement>('clip-error'),
    ok: $<HTMLParagraphElement>('clip-ok'),
    save: $<HTMLButtonElement>('clip-save'),
  };
  const debug: ClipEditorDebug = { in: 0, out: 0, duration: 0, previewing: false, problem: '', saved: null, thumbnails: 0 };
  const w = window as unknown as { __classcast?: Record<string, unknown> };
  w.__classcast = { ...(w.__classcast ?? {}), clipEditor: debug };

  let cues: StoryboardCue[] = [];
  let curriculum: string[] = [];
  /** Set once the teacher touched a field, so a field's own text is not overwritten while typing. */
  let fieldError: 'in' | 'out' | null = null;
  let savedNote: (() => string) | null = null;

  ui.visibility.replaceChildren(
    ...VISIBILITIES.map((v) => {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = t(`lesson.vis.${v}`);
      return o;
    }),
  );
  ui.visibility.value = lesson.visibility || 'school';

  // -------------------------------------------------------------- range

  function setRange(inPoint: number, out: number, from: 'in' | 'out' | 'both' = 'both') {
    const d = debug.duration;
    let i = snapToFrame(inPoint, fps());
    let o = snapToFrame(out, fps());
    if (d > 0) {
      // The handle being moved gives way to nothing: the other one is what limits it.
      if (from === 'in') i = snapToFrame(clampIn(i, o, d), fps());
      else if (from === 'out') o = snapToFrame(clampOut(o, i, d), fps());
      o = Math.min(o, d);
    }
    debug.in = i;
    debug.out = o;
    fieldError = null;
    ui.inField.value = formatClock(i);
    ui.outField.value = formatClock(o);
    renderRange();
  }

  function renderRange() {
    const d = debug.duration;
    const width = ui.timeline.clientWidth;
    const xi = timeToX(debug.in, d, width);
    const xo = timeToX(debug.out, d, width);
    ui.shadeBefore.style.width = `${xi}px`;
    ui.shadeAfter.style.left = `${xo}px`;
    ui.shadeAfter.style.width = `${Math.max(0, width - xo)}px`;
    ui.range.style.left = `${xi}px`;
    ui.range.style.width = `${Math.max(0, xo - xi)}px`;
    ui.handleIn.style.left = `${xi}px`;
    ui.handleOut.style.left = `${xo}px`;
    for (const [h, v] of [
      [ui.handleIn, debug.in],
      [ui.handleOut, debug.out],
    ] as const) {
      h.setAttribute('aria-valuemin', '0');
      h.setAttribute('aria-valuemax', String(Math.floor(d)));
      h.setAttribute('aria-valuenow', String(Math.floor(v)));
      h.setAttribute('aria-valuetext', formatClock(v));
    }
    const problem = fieldError ? { key: 'clip.err.time' as const } : checkRange(debug.in, debug.out, d);
    debug.problem = problem?.key ?? '';
    ui.length.textContent = t('clip.length', { duration: formatClock(Math.max(0, debug.out - debug.in)) });
    ui.inField.setAttribute('aria-invalid', String(fieldError === 'in'));
    ui.outField.setAttribute('aria-invalid', String(fieldError === 'out'));
    showError(problem ? t(problem.key, 'params' in problem ? problem.params : undefined) : '');
    renderPlayhead();
  }

  function renderPlayhead() {
    ui.playhead.style.left = `${timeToX(player.video.currentTime, debug.duration, ui.timeline.clientWidth)}px`;
  }

  function showError(text: string) {
    ui.error.textContent = text;
    ui.error.hidden = text === '';
  }

  function renderTiles() {
    const width = ui.timeline.clientWidth;
    const height = ui.strip.clientHeight || 48;
    const tiles = timelineTiles(cues, debug.duration, width, height);
    debug.thumbnails = tiles.length;
    ui.strip.replaceChildren(
      ...tiles.map((tile) => {
        const box = previewBox(tile.cue, tile.width);
        const frame = document.createElement('div');
        frame.className = 'timeline-tile';
        frame.style.left = `${tile.x}px`;
        frame.style.width = `${tile.width}px`;
        const img = document.createElement('div');
        img.className = 'timeline-img';
        const s = img.style;
        s.width = box.width;
        s.height = box.height;
        s.backgroundImage = `url("${tile.cue.url}")`;
        s.backgroundPosition = box.backgroundPosition;
        s.backgroundSize = box.backgroundSize;
        // Scale to the strip's height; the tile's width crops what is left over.
        const scale = tile.cue.h > 0 ? height / tile.cue.h : 1;
        s.transform = tile.cue.h > 0 ? `scale(${scale})` : 'none';
        frame.append(img);
        return frame;
      }),
    );
  }

  // -------------------------------------------------------------- dragging the handles, clicking the strip

  function dragHandle(handle: HTMLElement, which: 'in' | 'out') {
    let active = false;
    handle.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0 || !(debug.duration > 0)) return;
      active = true;
      handle.setPointerCapture(ev.pointerId);
      handle.classList.add('dragging');
      stopPreview();
      ev.preventDefault();
      ev.stopPropagation();
    });
    handle.addEventListener('pointermove', (ev) => {
      if (!active) return;
      const r = ui.timeline.getBoundingClientRect();
      const time = xToTime(ev.clientX - r.left, debug.duration, r.width);
      if (which === 'in') setRange(time, debug.out, 'in');
      else setRange(debug.in, time, 'out');
    });
    const end = () => {
      if (!active) return;
      active = false;
      handle.classList.remove('dragging');
      // Show the frame the handle stopped on.
      player.pause();
      player.seek(which === 'in' ? debug.in : debug.out);
    };
    handle.addEventListener('pointerup', end);
    handle.addEventListener('pointercancel', end);
    handle.addEventListener('keydown', (ev) => {
      const step = ev.shiftKey ? 1 : 1 / fps();
      let delta = 0;
      if (ev.key === 'ArrowLeft' || ev.key === 'ArrowDown') delta = -step;
      else if (ev.key === 'ArrowRight' || ev.key === 'ArrowUp') delta = step;
      else return;
      ev.preventDefault(); // the player's own arrow keys leave prevented events alone
      if (which === 'in') setRange(debug.in + delta, debug.out, 'in');
      else setRange(debug.in, debug.out + delta, 'out');
      player.seek(which === 'in' ? debug.in : debug.out);
    });
  }
  dragHandle(ui.handleIn, 'in');
  dragHandle(ui.handleOut, 'out');

  ui.timeline.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0 || !(debug.duration > 0)) return;
    const r = ui.timeline.getBoundingClientRect();
    stopPreview();
    player.seek(xToTime(ev.clientX - r.left, debug.duration, r.width));
    renderPlayhead();
  });

  // -------------------------------------------------------------- buttons, keys and fields

  function markIn() {
    if (!(debug.duration > 0)) return;
    const now = player.video.currentTime;
    // Setting in past out moves out along, keeping the length when it fits.
    const out = debug.out > now ? debug.out : Math.min(debug.duration, now + Math.max(1, debug.out - debug.in));
    setRange(now, out, 'in');
  }

  function markOut() {
    if (!(debug.duration > 0)) return;
    const now = player.video.currentTime;
    const inPoint = debug.in < now ? debug.in : Math.max(0, now - Math.max(1, debug.out - debug.in));
    setRange(inPoint, now, 'out');
  }

  ui.setIn.addEventListener('click', markIn);
  ui.setOut.addEventListener('click', markOut);
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat || ui.body.hidden) return;
    const target = ev.target as HTMLElement | null;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (ev.key === 'i' || ev.key === 'I') markIn();
    else if (ev.key === 'o' || ev.key === 'O') markOut();
    else return;
    ev.preventDefault();
  });

  function readField(which: 'in' | 'out') {
    const field = which === 'in' ? ui.inField : ui.outField;
    const v = parseClock(field.value);
    if (Number.isNaN(v)) {
      fieldError = which;
      renderRange();
      return;
    }
    // Typed times are taken as they are (snapped), then checked: no silent clamping.
    if (which === 'in') setRange(v, debug.out, 'both');
    else setRange(debug.in, v, 'both');
    player.pause();
    player.seek(which === 'in' ? debug.in : debug.out);
  }
  for (const which of ['in', 'out'] as const) {
    const field = which === 'in' ? ui.inField : ui.outField;
    field.addEventListener('change', () => readField(which));
    field.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        readField(which);
      }
    });
  }

  // -------------------------------------------------------------- preview: play in → out, then stop

  let previewFrame = 0;
  function startPreview() {
    if (checkRange(debug.in, debug.out, debug.duration)) return;
    debug.previewing = true;
    renderPreview();
    player.seek(debug.in);
    void player.play();
    const tick = () => {
      if (!debug.previewing) return;
      const now = player.video.currentTime;
      if (now >= debug.out - 0.02 || player.video.ended) {
        player.pause();
        player.seek(debug.out);
        stopPreview();
        return;
      }
      previewFrame = requestAnimationFrame(tick);
    };
    previewFrame = requestAnimationFrame(tick);
  }

  function stopPreview() {
    if (!debug.previewing) return;
    debug.previewing = false;
    cancelAnimationFrame(previewFrame);
    renderPreview();
  }

  function renderPreview() {
    ui.preview.textContent = t(debug.previewing ? 'clip.previewStop' : 'clip.preview');
    ui.preview.dataset.previewing = String(debug.previewing);
  }

  ui.preview.addEventListener('click', () => {
    if (debug.previewing) {
      stopPreview();
      player.pause();
    } else startPreview();
  });
  // A pause or a jump outside the range by the viewer ends the preview.
  player.video.addEventListener('pause', () => {
    if (debug.previewing && player.video.currentTime < debug.out - 0.05) stopPreview();
  });

  // -------------------------------------------------------------- save

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void save();
  });

  async function save() {
    savedNote = null;
    ui.ok.textContent = '';
    const problem = fieldError ? { key: 'clip.err.time' as const } : checkRange(debug.in, debug.out, debug.duration);
    if (problem) {
      showError(t(problem.key, 'params' in problem ? problem.params : undefined));
      return;
    }
    const title = ui.title.value.trim();
    if (!title) {
      showError(t('clip.err.title'));
      ui.title.focus();
      return;
    }
    showError('');
    ui.save.disabled = true;
    try {
      const body = {
        title,
        knowledge_point: ui.point.value.trim(),
        start_ms: toMs(debug.in),
        end_ms: toMs(debug.out),
        visibility: ui.visibility.value,
      };
      const c = parseClip(await apiSend('POST', `/lessons/${encodeURIComponent(lesson.id)}/clips`, body));
      if (!c) throw new Error('bad clip JSON');
      debug.saved = { id: c.id, asset_id: c.asset_id };
      savedNote = () => t('clip.saved');
      ui.ok.textContent = savedNote();
      ui.title.value = '';
      onSaved(c);
    } catch (err) {
      showError(apiErrorText(err));
    } finally {
      ui.save.disabled = false;
    }
  }

  // -------------------------------------------------------------- points, size, language

  function renderPoints() {
    const all = [...curriculum];
    for (const p of lesson.knowledge_points) if (!all.includes(p)) all.push(p);
    ui.points.replaceChildren(
      ...all.map((p) => {
        const o = document.createElement('option');
        o.value = p;
        return o;
      }),
    );
  }

  let lastWidth = 0;
  new ResizeObserver(() => {
    const width = ui.timeline.clientWidth;
    if (width === lastWidth) return;
    lastWidth = width;
    renderTiles();
    renderRange();
  }).observe(ui.timeline);

  function render() {
    ui.point.placeholder = t('clip.f.point.placeholder');
    for (const o of ui.visibility.options) o.textContent = t(`lesson.vis.${o.value}` as Parameters<typeof t>[0]);
    if (savedNote) ui.ok.textContent = savedNote();
    renderPreview();
    renderRange();
  }

  renderPoints();
  render();

  return {
    setDuration(seconds: number) {
      if (!(seconds > 0) || Math.abs(seconds - debug.duration) < 0.001) return;
      const first = debug.duration === 0;
      debug.duration = seconds;
      ui.wait.hidden = true;
      ui.body.hidden = false;
      if (first) {
        const r = initialRange(player.video.currentTime, seconds);
        setRange(r.in, r.out);
      } else if (debug.out > seconds) {
        setRange(debug.in, debug.out);
      } else {
        // hls.js refines the duration as it loads: the range still fits, and the time
        // fields may hold what the teacher is typing, so only the timeline moves.
        renderRange();
      }
      renderTiles();
    },
    setCues(c: StoryboardCue[]) {
      cues = c;
      renderTiles();
    },
    setPoints(points: string[]) {
      curriculum = points;
      renderPoints();
    },
    render,
    onTime: renderPlayhead,
  };
}
