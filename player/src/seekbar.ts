// The recording player's seek bar: played and buffered parts, dragging with a
// mouse or a finger, and a preview over the bar of the hovered (or dragged-to)
// time with its storyboard picture.

import { formatDuration } from './format';
import { cueAt, type StoryboardCue } from './storyboard';

/** Preview thumbnails are drawn this wide whatever the sprite's tile size. */
export const PREVIEW_WIDTH = 160;

/** How to draw one cue in the preview frame. */
export interface PreviewBox {
  /** The visible frame, CSS px. */
  frameWidth: number;
  frameHeight: number;
  /** The element carrying the sprite as its background, before scaling. */
  width: string;
  height: string;
  backgroundPosition: string;
  backgroundSize: string;
  /** Scale from the sprite's pixels to the frame's. */
  scale: number;
}

/**
 * Where the sprite goes for cue in a frame width px wide: the tile's region at
 * its own size, scaled to the frame; a whole-image cue (w 0) covers a 16:9 frame.
 */
export function previewBox(cue: StoryboardCue, width = PREVIEW_WIDTH): PreviewBox {
  if (cue.w > 0 && cue.h > 0) {
    const scale = width / cue.w;
    return {
      frameWidth: width,
      frameHeight: Math.round(cue.h * scale),
      width: `${cue.w}px`,
      height: `${cue.h}px`,
      backgroundPosition: `-${cue.x}px -${cue.y}px`,
      backgroundSize: 'auto',
      scale,
    };
  }
  return {
    frameWidth: width,
    frameHeight: Math.round((width * 9) / 16),
    width: '100%',
    height: '100%',
    backgroundPosition: 'center',
    backgroundSize: 'cover',
    scale: 1,
  };
}

/** The fraction (0–1) of a bar from left, width px wide, at clientX. */
export function fractionAt(clientX: number, left: number, width: number): number {
  return width > 0 ? Math.min(1, Math.max(0, (clientX - left) / width)) : 0;
}

/** What the bar needs from the player. */
export interface SeekBarHooks {
  /** Seconds; 0 while not known. */
  duration(): number;
  time(): number;
  buffered(): TimeRanges;
  seek(time: number): void;
  /** Called when a drag starts (true) and ends (false). */
  scrubbing(active: boolean): void;
}

function part<T extends HTMLElement>(root: HTMLElement, selector: string): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`seek bar lacks ${selector}`);
  return el;
}

export class SeekBar {
  /** Storyboard cues for the previews, sorted by start. */
  cues: StoryboardCue[] = [];
  private dragging = false;
  private dragTime = 0;
  private readonly played: HTMLElement;
  private readonly bufferedEl: HTMLElement;
  private readonly handle: HTMLElement;
  private readonly preview: HTMLElement;
  private readonly frame: HTMLElement;
  private readonly img: HTMLElement;
  private readonly label: HTMLElement;

  /** root holds .seek-played, .seek-buffered, .seek-handle and .preview with .preview-frame, .preview-img, .preview-time. */
  constructor(
    private readonly root: HTMLElement,
    private readonly hooks: SeekBarHooks,
  ) {
    this.played = part(root, '.seek-played');
    this.bufferedEl = part(root, '.seek-buffered');
    this.handle = part(root, '.seek-handle');
    this.preview = part(root, '.preview');
    this.frame = part(root, '.preview-frame');
    this.img = part(root, '.preview-img');
    this.label = part(root, '.preview-time');
    root.addEventListener('pointerdown', (ev) => this.onDown(ev));
    root.addEventListener('pointermove', (ev) => this.onMove(ev));
    root.addEventListener('pointerup', (ev) => {
      this.endDrag(true);
      if (ev.pointerType !== 'mouse') this.preview.hidden = true;
    });
    root.addEventListener('pointercancel', () => {
      this.endDrag(false);
      this.preview.hidden = true;
    });
    root.addEventListener('pointerleave', () => {
      if (!this.dragging) this.preview.hidden = true;
    });
  }

  /** True while the viewer drags the bar. */
  get active(): boolean {
    return this.dragging;
  }

  /** The time the bar shows: where the drag is, else the media's. */
  position(): number {
    return this.dragging ? this.dragTime : this.hooks.time();
  }

  /** Redraws the played and buffered parts and the ARIA values. */
  render(): void {
    const d = this.hooks.duration();
    const cur = this.position();
    const frac = d > 0 ? Math.min(1, cur / d) : 0;
    this.played.style.width = `${frac * 100}%`;
    this.handle.style.left = `${frac * 100}%`;
    // The buffered range the playhead is in (hls.js keeps a little behind it too).
    const now = this.hooks.time();
    const b = this.hooks.buffered();
    let end = 0;
    for (let i = 0; i < b.length; i++) {
      if (b.start(i) <= now + 0.5 && b.end(i) >= now) end = b.end(i);
    }
    this.bufferedEl.style.width = `${d > 0 ? Math.min(1, end / d) * 100 : 0}%`;
    this.root.setAttribute('aria-valuemax', String(Math.floor(d)));
    this.root.setAttribute('aria-valuenow', String(Math.floor(cur)));
    this.root.setAttribute('aria-valuetext', `${formatDuration(cur)} / ${formatDuration(d)}`);
  }

  private timeAt(clientX: number): number {
    const r = this.root.getBoundingClientRect();
    return fractionAt(clientX, r.left, r.width) * this.hooks.duration();
  }

  private onDown(ev: PointerEvent) {
    if (ev.button !== 0 || !(this.hooks.duration() > 0)) return;
    this.dragging = true;
    this.hooks.scrubbing(true);
    this.root.setPointerCapture(ev.pointerId);
    this.dragTime = this.timeAt(ev.clientX);
    this.showPreview(this.dragTime, ev.clientX);
    this.render();
    ev.preventDefault();
  }

  private onMove(ev: PointerEvent) {
    if (!(this.hooks.duration() > 0)) return;
    const time = this.timeAt(ev.clientX);
    if (this.dragging) {
      this.dragTime = time;
      this.render();
    } else if (ev.pointerType !== 'mouse') {
      return; // a finger previews only while it drags
    }
    this.showPreview(time, ev.clientX);
  }

  private endDrag(commit: boolean) {
    if (!this.dragging) return;
    this.dragging = false;
    if (commit) this.hooks.seek(this.dragTime);
    this.hooks.scrubbing(false);
    this.render();
  }

  /** Shows the preview of time above the bar at clientX, kept inside the bar. */
  showPreview(time: number, clientX: number): void {
    this.preview.hidden = false;
    this.label.textContent = formatDuration(time);
    const cue = cueAt(this.cues, time);
    let frameWidth = 0;
    if (cue) {
      const box = previewBox(cue);
      frameWidth = box.frameWidth;
      this.frame.style.width = `${box.frameWidth}px`;
      this.frame.style.height = `${box.frameHeight}px`;
      const s = this.img.style;
      s.width = box.width;
      s.height = box.height;
      s.backgroundImage = `url("${cue.url}")`;
      s.backgroundPosition = box.backgroundPosition;
      s.backgroundSize = box.backgroundSize;
      s.transform = box.scale === 1 ? 'none' : `scale(${box.scale})`;
    }
    this.frame.hidden = cue === null;
    const r = this.root.getBoundingClientRect();
    const w = Math.max(frameWidth, this.label.offsetWidth);
    const x = Math.min(Math.max(clientX - r.left - w / 2, 0), Math.max(0, r.width - w));
    this.preview.style.left = `${x}px`;
    this.preview.style.width = `${w}px`;
  }
}
