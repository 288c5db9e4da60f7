// The teachers' portal end to end, in headless Chromium, as a teacher and a reviewer
// use it: sign in, upload a lesson and lose the browser in the middle (it is closed
// after the first chunk), start the browser again and resume the upload, find the
// lesson by a Chinese substring in the library, cut a micro-lecture with the clip
// editor, submit it, approve and publish it as the reviewer, and play the published
// clip as an anonymous visitor; then the teacher deletes the lesson on its page. The
// Go end-to-end test (internal/teste2e) runs it against a real server and asserts on
// what it prints; by hand:
//
//   node scripts/portalflow.mjs --base http://127.0.0.1:8080 --teacher t1:pass \
//     --reviewer r1:pass --file lesson.mp4 --title '勾股定理 第一课' --search 勾股 \
//     --in 00:03.360 --out 00:09.520 --profile /tmp/profile
//
// It prints one JSON line per step ({"step":...,"t":ms,...}), then {"step":"done"} and
// exits 0, or {"step":"error","message":...} and exits 1.
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: a } = parseArgs({
  options: {
    base: { type: 'string' },
    teacher: { type: 'string' },
    reviewer: { type: 'string' },
    file: { type: 'string' },
    title: { type: 'string' },
    search: { type: 'string' },
    in: { type: 'string', default: '00:03.360' },
    out: { type: 'string', default: '00:09.520' },
    point: { type: 'string', default: '勾股定理的证明' },
    profile: { type: 'string' },
  },
});
for (const k of ['base', 'teacher', 'reviewer', 'file', 'title', 'search', 'profile']) {
  if (!a[k]) {
    console.error(`usage: portalflow.mjs --${k} is required`);
    process.exit(2);
  }
}
mkdirSync(a.profile, { recursive: true });

const t0 = Date.now();
const say = (step, o = {}) => console.log(JSON.stringify({ step, t: Date.now() - t0, ...o }));
const tid = (id) => `[data-testid="${id}"]`;
const [teacherUser, teacherPass] = a.teacher.split(':');
const [reviewerUser, reviewerPass] = a.reviewer.split(':');

const launchOpts = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 860 },
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
  ],
};

/** A browser with a profile on disk: localStorage (tus URLs) and cookies survive a restart. */
async function openBrowser() {
  const ctx = await chromium.launchPersistentContext(a.profile, launchOpts);
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => say('pageerror', { message: String(e) }));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[13]|status of 409/.test(m.text())) say('console', { message: m.text() });
  });
  page.setDefaultTimeout(30_000);
  return { ctx, page };
}

async function signIn(page, user, pass, next) {
  await page.goto(`${a.base}/signin?next=${encodeURIComponent(next)}`);
  await page.fill(tid('signin-username'), user);
  await page.fill(tid('signin-password'), pass);
  await page.click(tid('signin-submit'));
  await page.waitForURL((u) => u.pathname === next, { timeout: 15_000 });
  say('signin', { user });
}

/** Polls fn in the page until it returns a truthy value or the time is up. */
async function until(page, what, fn, arg, timeoutMs) {
  const h = await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 250 }).catch((e) => {
    throw new Error(`${what}: ${e.message.split('\n')[0]}`);
  });
  return h.jsonValue();
}

let browser;
try {
  // --- 1. Upload, and lose the browser after the first 8 MiB chunk.
  let { ctx, page } = await openBrowser();
  browser = ctx;
  await signIn(page, teacherUser, teacherPass, '/upload');
  let patches = 0;
  let killed = false;
  await page.route('**/api/v1/uploads/**', async (route) => {
    const req = route.request();
    if (req.method() === 'PATCH') {
      patches++;
      if (patches === 2) {
        // The first chunk has landed; the browser dies now.
        killed = true;
        await route.abort('connectionreset');
        return;
      }
    }
    await route.continue();
  });
  await page.setInputFiles(tid('upload-file'), a.file);
  await page.fill(tid('upload-title'), a.title);
  await page.fill(tid('upload-subject'), '数学');
  await page.fill(tid('upload-grade'), '八年级');
  await page.click(tid('upload-start'));
  for (let i = 0; i < 600 && !killed; i++) await page.waitForTimeout(100);
  if (!killed) throw new Error('the upload never sent a second chunk (file smaller than 8 MiB?)');
  const before = await page.getAttribute(tid('upload-progress'), 'aria-valuenow');
  await ctx.close();
  say('interrupted', { percent: Number(before) });

  // --- 2. A new browser on the same profile resumes where the server stopped.
  ({ ctx, page } = await openBrowser());
  browser = ctx;
  let resumedAt = -1;
  page.on('request', (req) => {
    if (req.method() === 'PATCH' && req.url().includes('/api/v1/uploads/') && resumedAt < 0) {
      resumedAt = Number(req.headers()['upload-offset'] ?? -1);
    }
  });
  await page.goto(`${a.base}/upload`);
  await page.waitForURL((u) => u.pathname === '/upload');
  await page.setInputFiles(tid('upload-file'), a.file);
  await page.waitForSelector(`${tid('upload-resume-note')}:not([hidden])`, { timeout: 15_000 });
  await page.fill(tid('upload-title'), a.title);
  await page.click(tid('upload-resume'));
  await page.waitForSelector(`${tid('upload-success-link')}:not([hidden])`, { timeout: 120_000 });
  const lessonId = await page.getAttribute(tid('upload-success-link'), 'data-lesson-id');
  say('uploaded', { resumedAt, lessonId });
  if (!lessonId) throw new Error('the upload page did not link the new lesson');

  // --- 3. Find it by a Chinese substring in the library.
  await page.goto(`${a.base}/library?q=${encodeURIComponent(a.search)}`);
  const found = await until(
    page,
    'library search',
    (id) => !!document.querySelector(`a[href^="/lessons/${id}"]`),
    lessonId,
    20_000,
  );
  say('found', { found });

  // --- 4. Cut a clip on the lesson page once its video is ready.
  await page.goto(`${a.base}/lessons/${lessonId}`);
  for (let i = 0; i < 60; i++) {
    if (await page.isVisible(tid('clip-save'))) break;
    await page.waitForTimeout(2000);
    if (!(await page.isVisible(tid('clip-save')))) await page.reload();
  }
  await page.waitForSelector(tid('clip-save'), { state: 'visible', timeout: 10_000 });
  say('lesson-ready');
  await page.fill(tid('clip-in'), a.in);
  await page.press(tid('clip-in'), 'Enter');
  await page.fill(tid('clip-out'), a.out);
  await page.press(tid('clip-out'), 'Enter');
  await page.fill(tid('clip-title'), `${a.point}（微课）`);
  await page.fill(tid('clip-point'), a.point);
  // Published for everyone, so an anonymous visitor can play it below.
  await page.selectOption(tid('clip-visibility'), 'public');
  await page.click(tid('clip-save'));
  const saved = await until(page, 'clip saved', () => window.__classcast?.clipEditor?.saved ?? null, null, 15_000);
  const range = await page.evaluate(() => ({ in: window.__classcast.clipEditor.in, out: window.__classcast.clipEditor.out }));
  say('clip-saved', { clipId: saved.id, assetId: saved.asset_id, ...range });

  const row = `${tid('clip-row')}[data-clip-id="${saved.id}"]`;
  const cutStart = Date.now();
  await page.waitForSelector(`${row}[data-asset-state="ready"]`, { timeout: 120_000 });
  say('clip-ready', { cutMs: Date.now() - cutStart });
  await page.click(`${row} ${tid('clip-row-submit')}`);
  await page.waitForSelector(`${row}[data-state="submitted"]`, { timeout: 15_000 });
  say('submitted');
  await page.click(tid('signout'));
  await page.waitForTimeout(500);

  // --- 5. The reviewer approves and publishes it.
  await signIn(page, reviewerUser, reviewerPass, '/review');
  await page.click(tid(`review-approve-${saved.id}`));
  await page.waitForSelector(tid(`review-publish-${saved.id}`), { timeout: 15_000 });
  say('approved');
  await page.click(tid(`review-publish-${saved.id}`));
  await page.waitForSelector(tid(`review-publish-${saved.id}`), { state: 'detached', timeout: 15_000 });
  say('published');
  await page.click(tid('signout'));
  await page.waitForTimeout(500);
  await ctx.close();

  // --- 6. Anyone plays the published clip.
  const anon = await chromium.launch(launchOpts);
  browser = anon;
  const vpage = await anon.newPage({ viewport: { width: 390, height: 844 } });
  vpage.on('pageerror', (e) => say('pageerror', { message: String(e) }));
  await vpage.goto(`${a.base}/clips/${saved.id}`);
  await vpage.waitForSelector(tid('vod-video'), { timeout: 20_000 });
  await vpage.evaluate(() => {
    const v = document.querySelector('[data-testid="vod-video"]');
    v.muted = true;
    return v.play().catch(() => {});
  });
  const played = await until(
    vpage,
    'clip playback',
    () => {
      const v = document.querySelector('[data-testid="vod-video"]');
      return v && v.currentTime >= 2 ? { currentTime: v.currentTime, duration: v.duration, width: v.videoWidth } : null;
    },
    null,
    30_000,
  );
  say('played', played);
  await anon.close();

  // --- 7. The teacher deletes the lesson (still a draft): its micro-lecture goes with it.
  const again = await chromium.launch(launchOpts);
  browser = again;
  const tpage = await again.newPage({ viewport: { width: 1280, height: 800 } });
  tpage.on('pageerror', (e) => say('pageerror', { message: String(e) }));
  tpage.on('dialog', (d) => void d.accept());
  await signIn(tpage, teacherUser, teacherPass, `/lessons/${lessonId}`);
  await tpage.waitForSelector(tid('lesson-delete'), { state: 'visible', timeout: 15_000 });
  await tpage.click(tid('lesson-delete'));
  await tpage.waitForURL((u) => u.pathname === '/me', { timeout: 15_000 });
  const [lessonStatus, clipStatus] = await tpage.evaluate(
    async ([l, c]) => [(await fetch(`/api/v1/lessons/${l}`)).status, (await fetch(`/api/v1/clips/${c}`)).status],
    [lessonId, saved.id],
  );
  say('deleted', { lessonStatus, clipStatus });
  await again.close();
  browser = null;
  say('done');
  process.exit(0);
} catch (e) {
  say('error', { message: e instanceof Error ? e.message : String(e) });
  await browser?.close().catch(() => {});
  process.exit(1);
}
