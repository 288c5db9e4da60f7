// Loads the built pages (dist/) in Debian's Chromium and checks them without
// a classcast server: WHEP and API responses are answered by Playwright, and
// for the "live" case a second Chromium acts as the WHEP server, sending a
// canvas video and an oscillator over a real RTCPeerConnection.
//
//   npm run build && npm run smoke            (screenshots in $SMOKE_OUT, default /tmp/classcast-smoke)
//   SMOKE_ONLY=vod npm run smoke              (only the recordings pages; SMOKE_ONLY=live for the rest)
//
// The recordings pages play a real HLS ladder (fMP4) that ffmpeg makes at the
// start (a 40 s test pattern at 360p and 240p plus audio only, a poster and a
// storyboard), served by the preview server under /vod/; the API is Playwright's.
//
// This checks the player on its own; the end-to-end tests against the real
// server live with the server.

import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.env.SMOKE_OUT ?? '/tmp/classcast-smoke';
mkdirSync(out, { recursive: true });
const only = process.env.SMOKE_ONLY ?? '';
const runLive = only === '' || only === 'live';
const runVod = only === '' || only === 'vod';

// The flags DESIGN.md gives for browser tests on our machines.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(page, fn, arg, timeout = 10_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
    return true;
  } catch {
    return false;
  }
}

/** Collects console errors and uncaught exceptions; `allowed` are expected (e.g. a mocked 404). */
function watchErrors(page, allowed = []) {
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !allowed.some((re) => re.test(m.text()))) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

const VOD_TYPES = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.vtt': 'text/vtt; charset=utf-8',
};

/** Makes the HLS ladder, poster and storyboard of asset "v1" in dir/v1 with the ffmpeg CLI; false without ffmpeg. */
function makeVod(dir) {
  const d = join(dir, 'v1');
  mkdirSync(d, { recursive: true });
  const ff = (args) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd: d, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    ff([
      '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=40',
      '-f', 'lavfi', '-i', 'sine=frequency=440:duration=40',
      '-filter_complex', '[0:v]split=2[a][b];[b]scale=426:240[b2]',
      '-map', '[a]', '-map', '[b2]', '-map', '1:a', '-map', '1:a', '-map', '1:a',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
      '-b:v:0', '800k', '-b:v:1', '300k', '-c:a', 'aac', '-b:a', '64k', '-ac', '2',
      '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4',
      '-master_pl_name', 'master.m3u8', '-hls_segment_filename', 'v%v/seg%03d.m4s',
      '-var_stream_map', 'v:0,a:0,name:360p v:1,a:1,name:240p a:2,name:audio', 'v%v/index.m3u8',
    ]);
    ff(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=1:duration=1', '-frames:v', '1', 'poster.jpg']);
    // One 160x90 tile per 4 s: 10 tiles, 5 a row.
    ff(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=40', '-vf', 'fps=1/4,scale=160:90,tile=5x2', '-frames:v', '1', 'storyboard.jpg']);
  } catch (err) {
    console.log(`skip VOD playback checks: ffmpeg failed (${err.message})`);
    return false;
  }
  const ts = (s) => `00:00:${String(s).padStart(2, '0')}.000`;
  const cues = Array.from({ length: 10 }, (_, i) => `${ts(i * 4)} --> ${ts(i * 4 + 4)}\nstoryboard.jpg#xywh=${(i % 5) * 160},${Math.floor(i / 5) * 90},160,90\n`);
  writeFileSync(join(d, 'storyboard.vtt'), `WEBVTT\n\n${cues.join('\n')}`);
  return true;
}

const vodDir = runVod ? mkdtempSync(join(tmpdir(), 'classcast-smoke-vod-')) : null;
const haveVod = vodDir !== null && makeVod(vodDir);

// DELETEs reach the preview server itself: Playwright does not see the
// keepalive request a page sends while it unloads.
const deletes = [];
const server = await preview({
  root,
  logLevel: 'warn',
  preview: { host: '127.0.0.1', port: 4173, strictPort: false },
  plugins: [
    {
      name: 'smoke-vod',
      configurePreviewServer(s) {
        s.middlewares.use((req, res, next) => {
          if (!vodDir || !req.url?.startsWith('/vod/')) return next();
          const file = normalize(join(vodDir, decodeURIComponent(req.url.slice(5).split('?')[0])));
          if (!file.startsWith(vodDir + '/') || !existsSync(file) || !statSync(file).isFile()) {
            res.statusCode = 404;
            return res.end('not found');
          }
          res.setHeader('Content-Type', VOD_TYPES[extname(file)] ?? 'application/octet-stream');
          createReadStream(file).pipe(res);
        });
      },
    },
    {
      name: 'smoke-whep-delete',
      configurePreviewServer(s) {
        s.middlewares.use((req, res, next) => {
          if (req.method !== 'DELETE' || !req.url?.startsWith('/whep/')) return next();
          deletes.push({ url: req.url, auth: req.headers.authorization });
          res.statusCode = 204;
          res.end();
        });
      },
    },
  ],
});
const base = server.resolvedUrls.local[0].replace(/\/$/, '');
console.log(`serving dist/ at ${base}`);

const browser = await chromium.launch({ executablePath, args: chromiumArgs });
// The stand-in WHEP server: may play sound without a gesture, and shows real
// host IPs so the player's browser can reach it without mDNS.
const senderBrowser = await chromium.launch({
  executablePath,
  args: [...chromiumArgs, '--autoplay-policy=no-user-gesture-required', '--disable-features=WebRtcHideLocalIpsWithMdns'],
});

const http4xx = /Failed to load resource: the server responded with a status of 4\d\d/;

// ---- the recordings pages: /library and /watch/<id>.
// The VOD player (src/vodplayer.ts) is mounted into #player-root; its parts
// without an id are found by data-testid or data-part.
const VOD = {
  message: '[data-testid="vod-message"] [data-part="message-text"]',
  bigplay: '[data-testid="vod-bigplay"]',
  audioOnly: '[data-part="audio-only"]',
  previewImg: '#seek .preview-img',
  toastText: '[data-part="toast-text"]',
  restart: '[data-part="restart"]',
};
async function vodChecks() {
  const now = Date.parse('2026-11-23T13:27:00Z');
  const asset = (id, over = {}) => ({
    id,
    kind: 'recording',
    title: '',
    stream_path: 'school-a/room-101',
    state: 'ready',
    step: '',
    percent: 0,
    error: '',
    duration_seconds: 1234.5,
    width: 640,
    height: 360,
    created_at: new Date(now).toISOString(),
    updated_at: new Date(now).toISOString(),
    started_at: new Date(now).toISOString(),
    ended_at: new Date(now + 1234500).toISOString(),
    renditions: [],
    master_url: '',
    poster_url: '',
    storyboard_url: '',
    ...over,
  });
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });

  // Library: states, progress, polling until settled, filters, paging, empty.
  {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page, [http4xx]);
    const queries = [];
    let polls = 0;
    // Nobody signed in (the top bar asks).
    await page.route('**/api/v1/auth/me', (route) => json(route, 401, { error: { code: 'unauthorized', message: 'sign in' } }));
    await page.route('**/api/v1/assets?*', (route) => {
      const q = new URL(route.request().url()).searchParams;
      queries.push({ state: q.get('state'), offset: q.get('offset'), limit: q.get('limit'), auth: route.request().headers()['authorization'] ?? null });
      polls++;
      if (q.get('state') === 'failed') return json(route, 200, { assets: [], total: 0 });
      if (q.get('state') === 'ready') {
        const list = Array.from({ length: 50 }, (_, i) => asset(`r${Number(q.get('offset')) + i}`, { created_at: new Date(now - i * 60000).toISOString() }));
        return json(route, 200, { assets: list, total: 120 });
      }
      const processing = polls < 3;
      return json(route, 200, {
        assets: [
          asset('r-old', { state: 'failed', error: 'ffmpeg: invalid data', created_at: new Date(now - 86400000).toISOString(), duration_seconds: 0 }),
          asset('r-new', processing
            ? { state: 'processing', step: 'ladder', percent: 42.5, title: '二次函数复习' }
            : { state: 'ready', title: '二次函数复习', master_url: '/vod/v1/master.m3u8', poster_url: '/vod/v1/poster.jpg', storyboard_url: '/vod/v1/storyboard.vtt' }),
          asset('r-rec', { state: 'recording', created_at: new Date(now + 60000).toISOString(), duration_seconds: 0, stream_path: 'school-b/room-7' }),
        ],
        total: 3,
      });
    });
    await page.goto(`${base}/library?tab=recordings&token=tk`);
    check(await waitFor(page, () => document.querySelectorAll('#asset-list li').length === 3), 'library: three assets');
    const cards = await page.$$eval('#asset-list li', (lis) =>
      lis.map((li) => ({
        id: li.dataset.id,
        href: li.querySelector('a').getAttribute('href'),
        badge: li.querySelector('.badge').textContent,
        progress: li.querySelector('.progress-text')?.textContent ?? null,
        error: li.querySelector('.asset-error')?.textContent ?? null,
        duration: li.querySelector('.thumb-duration')?.textContent ?? null,
        name: li.querySelector('.card-room').textContent,
      })),
    );
    check(cards.map((c) => c.id).join() === 'r-rec,r-new,r-old', `library: newest first (${cards.map((c) => c.id)})`);
    check(cards.map((c) => c.badge).join() === '录制中,处理中,失败', `library: badges ${cards.map((c) => c.badge)}`);
    check(cards[1].progress === '转码 · 42%' && cards[1].name === '二次函数复习' && cards[1].duration === '20:34', `library: processing card (${JSON.stringify(cards[1])})`);
    check(cards[2].error === '失败原因：ffmpeg: invalid data', `library: failure reason (${cards[2].error})`);
    check(cards[0].href === '/watch/r-rec?token=tk' && queries[0].auth === 'Bearer tk', `library: token carried (${cards[0].href}, ${queries[0].auth})`);
    check(queries[0].limit === '50' && queries[0].offset === '0' && queries[0].state === '', `library: query ${JSON.stringify(queries[0])}`);
    check((await page.getAttribute('.topnav a[href^="/library"]', 'href')) === '/library?token=tk', 'library: nav link carries the token');
    await page.screenshot({ path: join(out, 'library.png'), fullPage: true });
    // Polls every 3 s while something is unsettled; the processing one becomes ready.
    check(await waitFor(page, () => document.querySelector('li[data-id="r-new"] .badge')?.textContent === '可观看', undefined, 8000), 'library: polled until ready');
    check(await waitFor(page, () => document.querySelector('li[data-id="r-new"] img')?.getAttribute('src') === '/vod/v1/poster.jpg?token=tk'), 'library: poster shown when ready, with the token');
    // Hidden tab: no polling; visible again: at once.
    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const hiddenAt = polls;
    await sleep(4000);
    check(polls === hiddenAt, `library: no polling while hidden (${polls - hiddenAt} requests)`);
    await page.evaluate(() => {
      delete document.visibilityState; // the real one again
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await sleep(500);
    check(polls === hiddenAt + 1, `library: refreshed at once when visible (${polls - hiddenAt})`);
    await page.click('#lang-toggle');
    check((await page.textContent('li[data-id="r-rec"] .badge')) === 'Recording', 'library: English badge Recording');
    check((await page.textContent('.filters .chip[aria-pressed="true"]')) === 'All', 'library: English filter All');
    await page.click('#lang-toggle');
    // Filter: failed has none.
    await page.click('.filters .chip[data-state="failed"]');
    check(await waitFor(page, () => !document.getElementById('empty').hidden), 'library: filter with no match shows the empty state');
    check((await page.textContent('#empty-title')) === '没有“失败”的录像', `library: empty text ${await page.textContent('#empty-title')}`);
    check(queries.at(-1).state === 'failed' && new URL(page.url()).searchParams.get('state') === 'failed', 'library: filter in the query and the URL');
    // Paging through 120 ready ones.
    await page.click('.filters .chip[data-state="ready"]');
    check(await waitFor(page, () => document.querySelectorAll('#asset-list li').length === 50), 'library: 50 a page');
    check((await page.textContent('#pager-info')) === '第 1–50 条，共 120 条' && (await page.isDisabled('#prev')), `library: pager ${await page.textContent('#pager-info')}`);
    await page.click('#next');
    check(await waitFor(page, () => document.getElementById('pager-info').textContent === '第 51–100 条，共 120 条'), 'library: next page');
    check(queries.at(-1).offset === '50' && new URL(page.url()).searchParams.get('page') === '2', `library: offset ${queries.at(-1).offset}`);
    const before = polls;
    await sleep(3500);
    check(polls === before, `library: no polling when everything is settled (${polls - before})`);
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(300);
    await page.screenshot({ path: join(out, 'library-phone.png') });
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();

    // A teacher makes a lesson of a class recording (not of a micro-lecture's media).
    {
      const p3 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors3 = watchErrors(p3, [http4xx]);
      const posts = [];
      await p3.route('**/api/v1/auth/me', (route) =>
        json(route, 200, { user: { id: 't1', username: 't1', display_name: '王老师', role: 'teacher', school_id: 'school-a' }, method: 'session', csrf_token: 'x' }));
      await p3.route('**/api/v1/assets?*', (route) =>
        json(route, 200, { assets: [asset('r-class', { title: '东城一中 录播教室 101 2026-11-23 10:00' }), asset('c-clip', { kind: 'clip' })], total: 2 }));
      await p3.route('**/api/v1/lessons', (route) => {
        posts.push(route.request().postDataJSON());
        if (posts.length === 1) return json(route, 403, { error: { code: 'forbidden', message: "asset_id: only teachers of the classroom's school make lessons of its classes" } });
        return json(route, 201, { id: 'les-new', title: posts.at(-1).title, asset_id: 'r-class', state: 'draft', teacher_id: 't1' });
      });
      await p3.route('**/lessons/les-new', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>lesson</title>' }));
      await p3.goto(`${base}/library?tab=recordings`);
      check(await waitFor(p3, () => !!document.querySelector('li[data-id="r-class"] [data-testid="make-lesson"]')), 'library: 做成课程 on a class recording');
      check(!(await p3.$('li[data-id="c-clip"] [data-testid="make-lesson"]')), 'library: none on a micro-lecture');
      await p3.click('li[data-id="r-class"] [data-testid="make-lesson"]');
      check(await waitFor(p3, () => !document.querySelector('li[data-id="r-class"] .asset-actions .asset-error').hidden), 'library: a refusal is said');
      check((await p3.textContent('li[data-id="r-class"] .asset-actions .asset-error')) === '只有该教室所在学校的老师可以把这节课的录像做成课程', 'library: the refusal in Chinese');
      await p3.click('li[data-id="r-class"] [data-testid="make-lesson"]');
      check(await waitFor(p3, () => location.pathname === '/lessons/les-new'), 'library: the new lesson opens');
      check(posts[1]?.asset_id === 'r-class' && posts[1]?.title === '东城一中 录播教室 101 2026-11-23 10:00', `library: lesson asked for ${JSON.stringify(posts[1])}`);
      check(errors3.length === 0, `no console errors (${errors3.join(' | ')})`);
      await p3.close();
    }

    // Nothing recorded yet.
    const p2 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await p2.route('**/api/v1/auth/me', (route) => json(route, 401, { error: { code: 'unauthorized', message: 'sign in' } }));
    await p2.route('**/api/v1/assets?*', (route) => json(route, 200, { assets: [], total: 0 }));
    await p2.goto(`${base}/library?tab=recordings`);
    check(await waitFor(p2, () => !document.getElementById('empty').hidden), 'library: empty');
    check((await p2.textContent('#empty-title')) === '暂无录像' && (await p2.isHidden('#pager')), 'library: 暂无录像');
    // The live page links here.
    await p2.route('**/api/v1/streams', (route) => json(route, 200, { streams: [] }));
    await p2.goto(`${base}/`);
    check((await p2.textContent('.topnav a[href="/library"]')) === '课程回放', 'home: links to the recordings');
    await p2.close();
  }

  // Library, lessons tab (the default): a search from the URL, highlighted matches,
  // posters only of ready assets, typing with a pause, errors with a retry, the
  // empty state, paging and the back button, filters; then coverage.
  {
    const lesson = (id, over = {}) => ({
      id, asset_id: '', title: `第 ${id} 课`, teacher_id: 't1', teacher_name: '王老师', school_id: 'school-a', district: '海淀',
      subject: '数学', grade: '八年级', textbook_edition: '', chapter: '', duration_ms: 2700000, knowledge_points: [],
      state: 'published', visibility: 'public', created_at: new Date(now).toISOString(), submitted_at: null, ...over,
    });
    const all = Array.from({ length: 30 }, (_, i) => lesson(`l${i + 1}`));
    const found = [
      lesson('l-pyth', { title: '勾股定理 第一课', asset_id: 'v1', knowledge_points: ['实数', '勾股定理'] }),
      lesson('l-draft', { title: '<b>勾股</b>定理的逆定理', asset_id: 'a-proc', state: 'submitted', teacher_name: '李勾股' }),
    ];
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page, [http4xx, /status of 500/]);
    const lessonQueries = [];
    const assetAsks = [];
    const mediaAsks = [];
    let failing = true;
    page.on('request', (r) => r.url().includes('/vod/') && mediaAsks.push(new URL(r.url()).pathname));
    await page.route('**/api/v1/auth/me', (route) => json(route, 401, { error: { code: 'unauthorized', message: 'sign in' } }));
    await page.route('**/api/v1/lessons?*', (route) => {
      const q = new URL(route.request().url()).searchParams;
      lessonQueries.push(Object.fromEntries(q));
      const search = q.get('q') ?? '';
      if (search === 'boom' && failing) {
        failing = false;
        return json(route, 500, { error: { code: 'internal', message: 'database is locked' } });
      }
      if (search === '勾股') return json(route, 200, { lessons: found, total: 2 });
      if (search) return json(route, 200, { lessons: [], total: 0 });
      const offset = Number(q.get('offset'));
      return json(route, 200, { lessons: all.slice(offset, offset + Number(q.get('limit'))), total: all.length });
    });
    await page.route('**/api/v1/assets/*', (route) => {
      const id = new URL(route.request().url()).pathname.split('/').pop();
      assetAsks.push(id);
      if (id === 'v1') return json(route, 200, asset('v1', { master_url: '/vod/v1/master.m3u8', poster_url: '/vod/v1/poster.jpg', storyboard_url: '/vod/v1/storyboard.vtt' }));
      return json(route, 200, asset(id, { state: 'processing', percent: 40 }));
    });
    await page.goto(`${base}/library?q=${encodeURIComponent('勾股')}`);
    check(await waitFor(page, () => !!document.querySelector('a[href^="/lessons/l-pyth"]')), 'lessons: /library?q=勾股 opens with results');
    check((await page.inputValue('[data-testid="library-search"]')) === '勾股', 'lessons: the search box holds the query');
    check(lessonQueries[0]?.q === '勾股' && lessonQueries[0].limit === '24' && lessonQueries[0].offset === '0', `lessons: query ${JSON.stringify(lessonQueries[0])}`);
    const cards = await page.$$eval('#lesson-list > li', (lis) =>
      lis.map((li) => ({
        id: li.dataset.id,
        href: li.querySelector('a').getAttribute('href'),
        title: li.querySelector('.lesson-title').textContent,
        marks: [...li.querySelectorAll('mark')].map((m) => m.textContent),
        badge: li.querySelector('.badge-review')?.textContent ?? null,
        by: li.querySelector('.lesson-by').textContent,
        meta: li.querySelector('.lesson-subject')?.textContent ?? null,
        duration: li.querySelector('.thumb-duration')?.textContent ?? null,
        points: [...li.querySelectorAll('.lesson-point')].map((p) => p.textContent),
        bold: li.querySelectorAll('b').length,
      })),
    );
    check(cards.length === 2 && cards[0].href === '/lessons/l-pyth', `lessons: two cards linking their lesson (${cards.map((c) => c.href)})`);
    check(cards[0].title === '勾股定理 第一课' && cards[0].marks.join() === '勾股,勾股', `lessons: match highlighted (${JSON.stringify(cards[0])})`);
    check(cards[0].points.join() === '勾股定理,实数', `lessons: matched knowledge point first (${cards[0].points})`);
    check(cards[1].title === '<b>勾股</b>定理的逆定理' && cards[1].bold === 0, 'lessons: markup in a title stays text');
    check(cards[0].badge === null && cards[1].badge === '待审核', `lessons: badge only off published (${cards.map((c) => c.badge)})`);
    check(cards[0].meta === '数学 · 八年级' && cards[0].duration === '45:00' && cards[0].by.includes('王老师') && cards[0].by.includes('school-a'), `lessons: card details (${JSON.stringify(cards[0])})`);
    check(await waitFor(page, () => document.querySelector('li[data-id="l-pyth"] img')?.getAttribute('src') === '/vod/v1/poster.jpg'), 'lessons: poster of the ready asset');
    await sleep(500);
    check((await page.$('li[data-id="l-draft"] img')) === null && !mediaAsks.some((u) => u.includes('a-proc')), `lessons: no poster asked of an asset not ready (${mediaAsks})`);
    check(await page.isHidden('#lessons-state-field'), 'lessons: no state filter for anonymous visitors');
    await page.screenshot({ path: join(out, 'library-lessons.png'), fullPage: true });

    // Typing: one request after the pause, the URL follows.
    const before = lessonQueries.length;
    await page.focus('[data-testid="library-search"]');
    await page.keyboard.press('Control+A'); // the first key typed replaces the old search
    await page.keyboard.type('二次函数', { delay: 60 });
    check(await waitFor(page, () => !document.getElementById('lessons-empty').hidden), 'lessons: no match shows the empty state');
    await sleep(400);
    const typed = lessonQueries.slice(before);
    check(typed.length === 1 && typed[0].q === '二次函数', `lessons: one search after typing (${typed.map((q) => q.q)})`);
    check(new URL(page.url()).searchParams.get('q') === '二次函数', `lessons: query in the URL (${page.url()})`);
    check((await page.textContent('#lessons-empty-title')) === '没有找到与“二次函数”相关的课程', `lessons: empty text ${await page.textContent('#lessons-empty-title')}`);

    // Enter searches at once; a failure says so and retry works.
    await page.fill('[data-testid="library-search"]', 'boom');
    await page.press('[data-testid="library-search"]', 'Enter');
    check(await waitFor(page, () => !document.querySelector('[data-testid="library-error"]').hidden, undefined, 2000), 'lessons: error shown');
    check((await page.textContent('#lessons-error-text')).includes('database is locked'), `lessons: error text ${await page.textContent('#lessons-error-text')}`);
    await page.click('[data-testid="library-retry"]');
    check(await waitFor(page, () => document.querySelector('[data-testid="library-error"]').hidden && !document.getElementById('lessons-empty').hidden), 'lessons: retry loads again');

    // Clear filters: the whole list, 30 lessons in two pages; the back button returns.
    await page.click('[data-testid="library-reset"]');
    check(await waitFor(page, () => document.querySelectorAll('#lesson-list > li').length === 24), 'lessons: 24 a page');
    check((await page.textContent('[data-testid="library-total"]')) === '共 30 节课程' && (await page.isDisabled('#lessons-prev')), `lessons: count ${await page.textContent('[data-testid="library-total"]')}`);
    await page.click('[data-testid="library-next"]');
    check(await waitFor(page, () => document.querySelectorAll('#lesson-list > li').length === 6), 'lessons: page 2');
    check(lessonQueries.at(-1).offset === '24' && new URL(page.url()).searchParams.get('page') === '2', `lessons: offset ${lessonQueries.at(-1).offset}, ${page.url()}`);
    await page.goBack();
    check(await waitFor(page, () => document.querySelectorAll('#lesson-list > li').length === 24), 'lessons: back button returns to page 1');
    // A filter box searches on Enter.
    await page.fill('[data-testid="library-grade"]', '九年级');
    await page.press('[data-testid="library-grade"]', 'Enter');
    for (let i = 0; i < 30 && lessonQueries.at(-1)?.grade !== '九年级'; i++) await sleep(100); // the request follows the URL
    check(new URL(page.url()).searchParams.get('grade') === '九年级' && lessonQueries.at(-1).grade === '九年级', `lessons: grade filter ${JSON.stringify(lessonQueries.at(-1))}`);
    await page.click('#lang-toggle');
    check(await waitFor(page, () => document.querySelector('[data-testid="library-tab-lessons"]').textContent === 'Lessons'), 'lessons: English tabs');
    await page.click('#lang-toggle');
    check(new Set(assetAsks).size === assetAsks.length, `lessons: each asset asked once (${assetAsks})`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('[data-testid="library-reset"]');
    await sleep(500);
    await page.screenshot({ path: join(out, 'library-lessons-phone.png') });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `lessons: fits a phone (${overflow} px too wide)`);
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);

    // Coverage: anonymous visitors are asked to sign in.
    await page.goto(`${base}/library?tab=coverage`);
    check(await waitFor(page, () => !document.querySelector('[data-testid="coverage-signin"]').hidden), 'coverage: sign-in asked of anonymous visitors');
    check((await page.getAttribute('#coverage-signin-link', 'href')) === '/signin?next=%2Flibrary%3Ftab%3Dcoverage', `coverage: sign-in link ${await page.getAttribute('#coverage-signin-link', 'href')}`);
    check((await page.getAttribute('[data-testid="library-tab-coverage"]', 'aria-current')) === 'page', 'coverage: its tab is current');
    await page.close();

    // Coverage and the state filter for a reviewer.
    const p2 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors2 = watchErrors(p2);
    const covQueries = [];
    await p2.route('**/api/v1/auth/me', (route) =>
      json(route, 200, { user: { id: 'r1', username: 'r1', display_name: '审核员', role: 'reviewer' }, method: 'session', csrf_token: 'x' }));
    await p2.route('**/api/v1/coverage?*', (route) => {
      covQueries.push(Object.fromEntries(new URL(route.request().url()).searchParams));
      return json(route, 200, {
        subject: '数学', grade: '八年级', covered: 1, total: 3,
        points: [
          { point: '勾股定理', covered: true, micro_lectures: 2, clip_ids: ['c1', 'c2'], lessons: 2, in_curriculum: true },
          { point: '勾股定理的逆定理', covered: false, micro_lectures: 0, clip_ids: [], lessons: 1, in_curriculum: true },
          { point: '一次函数', covered: false, micro_lectures: 0, clip_ids: [], lessons: 0, in_curriculum: true },
        ],
      });
    });
    await p2.route('**/api/v1/lessons?*', (route) => json(route, 200, { lessons: [], total: 0 }));
    await p2.route('**/api/v1/curricula', (route) =>
      json(route, 200, { curricula: [{ subject: '数学', grade: '八年级', points: 3 }, { subject: '信息科技', grade: '七年级', points: 5 }] }));
    // No subject chosen: the first curriculum is shown at once.
    await p2.goto(`${base}/library?tab=coverage`);
    check(await waitFor(p2, () => new URL(location.href).searchParams.get('subject') === '数学' && !document.getElementById('coverage-result').hidden),
      'coverage: the first curriculum without asking');
    const chips = await p2.$$eval('[data-testid="coverage-curricula"] a', (as) => as.map((a) => `${a.textContent}|${a.getAttribute('aria-current') ?? ''}`));
    check(chips.join() === '数学 · 八年级（3 个知识点）|true,信息科技 · 七年级（5 个知识点）|', `coverage: curricula chips ${chips}`);
    check((await p2.$$eval('#lib-subjects option', (os) => os.map((o) => o.value)))[1] === '信息科技', 'coverage: a school subject joins the suggestions');
    await p2.click('[data-testid="coverage-curricula"] a[data-subject="信息科技"]');
    check(await waitFor(p2, () => new URL(location.href).searchParams.get('grade') === '七年级') && covQueries.at(-1)?.subject === '信息科技', 'coverage: a chip chooses its curriculum');
    covQueries.length = 0;
    await p2.goto(`${base}/library?tab=coverage&subject=${encodeURIComponent('数学')}&grade=${encodeURIComponent('八年级')}`);
    check(await waitFor(p2, () => !document.getElementById('coverage-result').hidden), 'coverage: loads from the URL');
    check(covQueries[0]?.subject === '数学' && covQueries[0].grade === '八年级', `coverage: query ${JSON.stringify(covQueries[0])}`);
    check((await p2.textContent('#coverage-summary-text')) === '已覆盖 1 / 3 个知识点（33%）', `coverage: summary ${await p2.textContent('#coverage-summary-text')}`);
    const cov = await p2.$$eval('.lib-cov-point', (lis) => lis.map((li) => ({ point: li.dataset.point, covered: li.dataset.covered, links: [...li.querySelectorAll('a')].map((a) => a.getAttribute('href')) })));
    check(cov.map((c) => `${c.point}:${c.covered}`).join() === '勾股定理的逆定理:false,一次函数:false,勾股定理:true', `coverage: points ${JSON.stringify(cov)}`);
    check(cov[2].links.join() === '/clips/c1,/clips/c2', `coverage: covered point links its micro-lectures (${cov[2].links})`);
    check(cov[0].links[0]?.startsWith('/library?tab=lessons&point=') && cov[1].links.length === 0, `coverage: uncovered point links its lessons (${cov[0].links})`);
    await p2.screenshot({ path: join(out, 'library-coverage.png'), fullPage: true });
    await p2.fill('[data-testid="coverage-grade"]', '九年级');
    await p2.click('[data-testid="coverage-go"]');
    check(await waitFor(p2, () => new URL(location.href).searchParams.get('grade') === '九年级') && covQueries.at(-1)?.grade === '九年级', 'coverage: a new grade');
    await p2.goto(`${base}/library`);
    check(await waitFor(p2, () => !document.getElementById('lessons-state-field').hidden), 'lessons: reviewers get the state filter');
    check(await waitFor(p2, () => (document.getElementById('lessons-empty-title').textContent ?? '') === '暂无课程'), 'lessons: 暂无课程');
    check(errors2.length === 0, `no console errors (${errors2.join(' | ')})`);
    await p2.close();
  }

  // Watch page: errors and a failed asset.
  {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page, [/status of 40[14]/]);
    await page.route('**/api/v1/auth/me', (route) => json(route, 401, { error: { code: 'unauthorized', message: 'sign in' } }));
    await page.route('**/api/v1/assets/*', (route) => {
      const id = route.request().url().split('/').pop();
      if (id === 'gone') return json(route, 404, { error: { code: 'asset_not_found', message: 'no such asset' } });
      return json(route, 200, asset(id, { state: 'failed', error: 'source has no video' }));
    });
    await page.goto(`${base}/watch/gone`);
    check(await waitFor(page, () => window.__classcast?.vod?.state === 'error'), 'watch 404: state error');
    const d = await page.evaluate(() => window.__classcast.vod);
    check(d.error === '出错了：no such asset' && d.errorCode === 'asset_not_found', `watch 404: ${d.error} ${d.errorCode}`);
    await page.goto(`${base}/watch/bad1`);
    check(await waitFor(page, () => window.__classcast?.vod?.state === 'failed'), 'watch failed: state failed');
    check((await page.textContent(VOD.message)) === '处理失败：source has no video', `watch failed: ${await page.textContent(VOD.message)}`);
    await page.click('#lang-toggle');
    check((await page.textContent(VOD.message)) === 'Processing failed: source has no video', 'watch failed: English');
    await page.click('#lang-toggle');
    await page.screenshot({ path: join(out, 'watch-failed.png') });
    await page.goto(`${base}/watch/..%2Fetc`);
    check(await waitFor(page, () => window.__classcast?.vod?.error === '录像地址无效'), 'watch: bad id');
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();
  }

  // Watch page: a teacher makes a lesson of the class recording.
  {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    const posts = [];
    await page.route('**/api/v1/auth/me', (route) =>
      json(route, 200, { user: { id: 't1', username: 't1', display_name: '王老师', role: 'teacher', school_id: 'school-a' }, method: 'session', csrf_token: 'x' }));
    await page.route('**/api/v1/assets/r9', (route) => json(route, 200, asset('r9', { title: '东城一中 录播教室 101 2026-11-23 10:00' })));
    await page.route('**/api/v1/lessons', (route) => {
      posts.push(route.request().postDataJSON());
      return json(route, 201, { id: 'les-w', title: posts.at(-1).title, asset_id: 'r9', state: 'draft', teacher_id: 't1' });
    });
    await page.route('**/lessons/les-w', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>lesson</title>' }));
    await page.goto(`${base}/watch/r9`);
    check(await waitFor(page, () => !document.getElementById('make-lesson-box').hidden), 'watch: 做成课程 for a teacher');
    await page.click('[data-testid="make-lesson"]');
    check(await waitFor(page, () => location.pathname === '/lessons/les-w'), 'watch: the new lesson opens');
    check(posts[0]?.asset_id === 'r9' && posts[0]?.title === '东城一中 录播教室 101 2026-11-23 10:00', `watch: lesson asked for ${JSON.stringify(posts[0])}`);
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();
  }

  if (!haveVod) return;

  // Watch page: processing, then ready; plays the ladder.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // The page asks who is signed in (for 做成课程): nobody, which the browser logs as a 401.
  const errors = watchErrors(page, [/status of 401/]);
  await page.route('**/api/v1/auth/me', (route) => json(route, 401, { error: { code: 'unauthorized', message: 'sign in' } }));
  let calls = 0;
  let apiAuth = null;
  const vodRequests = [];
  page.on('request', (r) => r.url().includes('/vod/') && vodRequests.push({ url: r.url(), auth: r.headers()['authorization'] ?? null }));
  await page.route('**/api/v1/assets/v1', (route) => {
    calls++;
    apiAuth = route.request().headers()['authorization'] ?? null;
    if (calls <= 2) return json(route, 200, asset('v1', { state: 'processing', step: 'ladder', percent: 30 * calls, title: '二次函数复习' }));
    return json(route, 200, asset('v1', {
      title: '二次函数复习',
      duration_seconds: 40,
      master_url: '/vod/v1/master.m3u8',
      poster_url: '/vod/v1/poster.jpg',
      storyboard_url: '/vod/v1/storyboard.vtt',
    }));
  });
  await page.goto(`${base}/watch/v1?token=tk`);
  check(await waitFor(page, () => window.__classcast?.vod?.state === 'pending'), 'watch: pending while processing');
  check(await page.isHidden('#make-lesson-box'), 'watch: no 做成课程 for anonymous viewers');
  check((await page.textContent(VOD.message)) === '正在处理 30% · 转码', `watch: ${await page.textContent(VOD.message)}`);
  await page.screenshot({ path: join(out, 'watch-processing.png') });
  const t0 = Date.now();
  check(await waitFor(page, () => ['playing', 'paused'].includes(window.__classcast.vod.state), undefined, 15_000), `watch: ready after ${Date.now() - t0} ms (${calls} polls)`);
  if ((await page.evaluate(() => window.__classcast.vod.state)) === 'paused') {
    console.log('     autoplay with sound refused: pressing play');
    await page.click(VOD.bigplay);
  }
  check(await waitFor(page, () => window.__classcast.vod.state === 'playing' && window.__classcast.vod.currentTime > 1, undefined, 10_000), 'watch: playing, time advancing');
  let v = await page.evaluate(() => window.__classcast.vod);
  // hls.js orders the levels by bit rate; the audio-only one comes last.
  check(v.engine === 'hls.js' && v.levels.map((l) => l.name).join() === '240p,360p,audio', `watch: levels ${v.levels.map((l) => l.name)}`);
  check(v.level >= 0 && v.auto, `watch: auto level ${v.levels[v.level]?.name}`);
  check(v.storyboardCues === 10, `watch: storyboard cues ${v.storyboardCues}`);
  check((await page.getAttribute('video', 'poster')) === '/vod/v1/poster.jpg?token=tk', 'watch: poster, with the token');
  const playlist = vodRequests.find((r) => r.url.endsWith('/vod/v1/master.m3u8'));
  const segment = vodRequests.find((r) => r.url.endsWith('.m4s'));
  check(apiAuth === 'Bearer tk' && playlist?.auth === 'Bearer tk' && segment?.auth === 'Bearer tk', `watch: token sent to the API and with HLS requests (${apiAuth}, ${playlist?.auth}, ${segment?.auth})`);
  check((await page.getAttribute('#back', 'href')) === '/library?token=tk', 'watch: back link carries the token');
  check((await page.title()) === 'classcast 回放 · 二次函数复习', `watch: title ${await page.title()}`);
  // The page's details under the player: name, length from the media, the room.
  const info = { title: await page.textContent('#title'), meta: await page.textContent('#meta') };
  check(info.title === '二次函数复习' && info.meta.includes('时长 0:40') && info.meta.includes('school-a/room-101'), `watch: details ${JSON.stringify(info)}`);

  // Quality menu.
  await page.hover('#stage');
  await page.click('#quality');
  const items = await page.$$eval('#quality-menu .menu-item', (bs) => bs.map((b) => b.textContent));
  check(items.join() === `自动 (${v.levels[v.level].name}),360p,240p,仅音频`, `watch: quality menu ${items}`);
  await page.screenshot({ path: join(out, 'watch-quality.png') });
  await page.click('#quality-menu [data-name="240p"]');
  const vodNow = () => page.evaluate(() => JSON.stringify({ ...window.__classcast.vod, levels: undefined, h: document.querySelector('video').videoHeight }));
  check(await waitFor(page, () => document.querySelector('video').videoHeight === 240 && window.__classcast.vod.levels[window.__classcast.vod.level]?.name === '240p', undefined, 15_000), `watch: 240p picked and playing (${await vodNow()})`);
  check((await page.textContent('#quality')) === '240p', 'watch: menu button says 240p');
  await page.hover('#stage'); // the controls hide after 3 s without the pointer moving
  await page.click('#quality');
  await page.click('#quality-menu [data-name="audio"]');
  check(await waitFor(page, () => window.__classcast.vod.levels[window.__classcast.vod.level]?.name === 'audio' && window.__classcast.vod.state === 'playing', undefined, 8000), 'watch: audio only');
  const ta = await page.evaluate(() => window.__classcast.vod.currentTime);
  await sleep(1200);
  v = await page.evaluate(() => window.__classcast.vod);
  check(v.currentTime > ta + 0.5 && (await page.isVisible(VOD.audioOnly)), `watch: audio only plays on (${ta.toFixed(1)} → ${v.currentTime.toFixed(1)} s)`);
  await page.hover('#seek');
  await page.click('#quality');
  await page.click('#quality-menu [data-level="-1"]');
  check(await waitFor(page, () => window.__classcast.vod.auto && document.querySelector('video').videoHeight > 0 && window.__classcast.vod.state === 'playing', undefined, 8000), 'watch: back to auto with picture');

  // Keyboard.
  await page.keyboard.press('k');
  check(await waitFor(page, () => window.__classcast.vod.state === 'paused'), "watch: 'k' pauses");
  let t = await page.evaluate(() => document.querySelector('video').currentTime);
  await page.keyboard.press('l');
  check(await waitFor(page, (x) => Math.abs(document.querySelector('video').currentTime - Math.min(x + 10, 39.9)) < 0.2, t), "watch: 'l' +10 s");
  t = await page.evaluate(() => document.querySelector('video').currentTime);
  await page.keyboard.press('ArrowLeft');
  check(await waitFor(page, (x) => Math.abs(document.querySelector('video').currentTime - (x - 5)) < 0.2, t), "watch: '←' -5 s");
  await page.keyboard.press('.');
  await page.keyboard.press('.');
  check((await page.evaluate(() => document.querySelector('video').playbackRate)) === 1.5 && (await page.textContent('#speed')) === '1.5x', "watch: '.' twice: 1.5x");
  await page.keyboard.press(',');
  check((await page.evaluate(() => window.__classcast.vod.rate)) === 1.25, "watch: ',' 1.25x");
  await page.keyboard.press('m');
  check(await page.evaluate(() => document.querySelector('video').muted), "watch: 'm' mutes");
  await page.keyboard.press('m');
  await page.keyboard.press(' ');
  check(await waitFor(page, () => window.__classcast.vod.state === 'playing'), 'watch: space plays');

  // Storyboard preview over the seek bar.
  const bar = await page.locator('#seek').boundingBox();
  await page.mouse.move(bar.x + bar.width * 0.65, bar.y + bar.height / 2);
  check(await page.isVisible(VOD.previewImg), 'watch: preview shown on hover');
  const pv = await page.evaluate(() => ({ time: document.querySelector('#seek .preview-time').textContent, bg: getComputedStyle(document.querySelector('#seek .preview-img')).backgroundImage, pos: document.querySelector('#seek .preview-img').style.backgroundPosition }));
  check(['0:25', '0:26'].includes(pv.time) && pv.bg.includes('/vod/v1/storyboard.jpg?token=tk') && pv.pos === '-160px -90px', `watch: preview of 0:26 is tile 6 (${JSON.stringify(pv)})`);
  await page.screenshot({ path: join(out, 'watch-preview.png') });
  // Click there: seek.
  await page.mouse.click(bar.x + bar.width * 0.25, bar.y + bar.height / 2);
  check(await waitFor(page, () => Math.abs(document.querySelector('video').currentTime - 10) < 1), 'watch: click on the bar seeks');

  // Resume: pause at 20 s, reload.
  await page.evaluate(() => {
    document.querySelector('video').currentTime = 20;
  });
  await waitFor(page, () => !document.querySelector('video').seeking);
  await page.keyboard.press('k');
  await waitFor(page, () => window.__classcast.vod.state === 'paused');
  const saved = await page.evaluate(() => JSON.parse(localStorage.getItem('classcast.vod.resume') ?? '{}'));
  check(Math.abs((saved.v1?.t ?? 0) - 20) < 0.5, `watch: position saved (${JSON.stringify(saved)})`);
  await page.reload();
  check(await waitFor(page, () => window.__classcast?.vod?.resumedFrom !== null && window.__classcast.vod.currentTime >= 20, undefined, 10_000), 'watch: resumed after reload');
  check(await waitFor(page, () => !document.querySelector('[data-part="toast"]').hidden), 'watch: resume note shown');
  check((await page.textContent(VOD.toastText)) === '已从 0:20 继续播放', `watch: ${await page.textContent(VOD.toastText)}`);
  check((await page.textContent('#speed')) === '1.25x', 'watch: speed remembered');
  await page.click(VOD.restart);
  check(await waitFor(page, () => document.querySelector('video').currentTime < 3), 'watch: 从头播放 starts over');
  await page.setViewportSize({ width: 390, height: 844 });
  await sleep(500);
  await page.screenshot({ path: join(out, 'watch-phone.png') });
  check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
  await context.close();
}

try {
  // ---- live page, nothing publishing: 404.
  if (runLive) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page, [http4xx]);
    await page.route('**/whep/**', (route) =>
      route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"stream not found"}}' }),
    );
    const posts = [];
    page.on('request', (r) => r.method() === 'POST' && posts.push(r));
    await page.goto(`${base}/live/school-a/room-101`);
    check(await waitFor(page, () => window.__classcast?.state === 'offline'), 'not live: state offline');
    check((await page.textContent('#message-text')) === '直播未开始', 'not live: message 直播未开始');
    check((await page.title()) === 'classcast 直播 · school-a/room-101', `title: ${await page.title()}`);
    check(posts[0]?.url() === `${base}/whep/school-a/room-101`, `POST to ${posts[0]?.url()}`);
    check(posts[0]?.headers()['content-type'] === 'application/sdp', 'POST Content-Type application/sdp');
    const sdp = posts[0]?.postData() ?? '';
    check(/m=video[\s\S]*a=recvonly/.test(sdp) && /m=audio[\s\S]*a=recvonly/.test(sdp), 'offer is recvonly video + audio');
    check(/a=candidate:/.test(sdp), 'offer carries gathered candidates');
    await page.screenshot({ path: join(out, 'live-offline.png') });
    const before = posts.length;
    await sleep(3500);
    check(posts.length === before + 1, `not live: retried after 3 s (${posts.length - before} more POST)`);
    await page.click('#lang-toggle');
    check((await page.textContent('#message-text')) === 'Stream not live', 'English: Stream not live');
    check((await page.textContent('#badge')) === 'Not live', 'English badge: Not live');
    await page.screenshot({ path: join(out, 'live-offline-en.png') });
    await page.reload();
    check(await waitFor(page, () => document.getElementById('badge')?.textContent === 'Not live'), 'language remembered after reload');
    await page.evaluate(() => localStorage.clear());
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();
  }

  // ---- 401, 400, network errors.
  if (runLive) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page, [http4xx, /ERR_CONNECTION_REFUSED|ERR_FAILED/]);
    let mode = 401;
    const times = [];
    let auth = null;
    await page.route('**/whep/**', (route) => {
      times.push(Date.now());
      auth = route.request().headers()['authorization'] ?? null;
      if (mode === 'network') return route.abort('connectionrefused');
      if (mode === 400)
        return route.fulfill({
          status: 400,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'bad_offer', message: 'offer has no H.264' } }),
        });
      return route.fulfill({ status: 401, contentType: 'application/json', body: '{"error":{"code":"unauthorized","message":"token required"}}' });
    });
    await page.goto(`${base}/live/private/room-9?token=s3cret`);
    check(await waitFor(page, () => window.__classcast?.state === 'error'), '401: state error');
    check((await page.textContent('#message-text')) === '无权观看', '401: message 无权观看');
    check(auth === 'Bearer s3cret', `token sent as ${auth}`);
    await sleep(3500);
    check(times.length === 1, `401: no retry (${times.length} POSTs)`);
    await page.screenshot({ path: join(out, 'live-unauthorized.png') });

    mode = 400;
    await page.reload();
    check(await waitFor(page, () => window.__classcast?.state === 'error' && window.__classcast.message.includes('offer has no H.264')), '400: server message shown');
    check((await page.evaluate(() => window.__classcast.errorCode)) === 'bad_offer', '400: errorCode exposed');

    mode = 'network';
    times.length = 0;
    await page.reload();
    check(await waitFor(page, () => window.__classcast?.state === 'reconnecting'), 'network error: state reconnecting');
    await sleep(7800);
    const gaps = times.slice(1).map((t, i) => Math.round((t - times[i]) / 100) / 10);
    // Each attempt first gathers ICE (up to 1 s), so gaps are the backoff plus that.
    check(gaps.length >= 2 && gaps[0] >= 1 && gaps[1] >= 2 && gaps[1] > gaps[0], `network error: backoff grows (${gaps.join(', ')} s)`);
    await page.screenshot({ path: join(out, 'live-network-error.png') });
    check(errors.length === 0, `no unexpected console errors (${errors.join(' | ')})`);
    await page.close();
  }

  // ---- live: a second Chromium answers the offer and sends media.
  if (runLive) {
    const sender = await senderBrowser.newPage();
    await sender.setContent('<canvas width="640" height="360"></canvas>');
    await sender.evaluate(() => {
      const canvas = document.querySelector('canvas');
      const ctx = canvas.getContext('2d');
      let n = 0;
      setInterval(() => {
        n++;
        ctx.fillStyle = `hsl(${(n * 2) % 360}, 45%, 35%)`;
        ctx.fillRect(0, 0, 640, 360);
        ctx.fillStyle = '#fff';
        ctx.font = '40px sans-serif';
        ctx.fillText(`classcast smoke ${n}`, 40, 190);
      }, 33);
      const video = canvas.captureStream(30).getVideoTracks()[0];
      const ac = new AudioContext();
      const osc = ac.createOscillator();
      const dest = ac.createMediaStreamDestination();
      osc.connect(dest);
      osc.start();
      const audio = dest.stream.getAudioTracks()[0];
      window.pcs = [];
      window.answer = async (offer) => {
        const pc = new RTCPeerConnection();
        window.pcs.push(pc);
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        for (const tr of pc.getTransceivers()) {
          await tr.sender.replaceTrack(tr.receiver.track.kind === 'video' ? video : audio);
          tr.direction = 'sendonly';
        }
        await pc.setLocalDescription(await pc.createAnswer());
        await new Promise((r) => {
          if (pc.iceGatheringState === 'complete') r();
          pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
          setTimeout(r, 2000);
        });
        return pc.localDescription.sdp;
      };
    });

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    page.on('console', (m) => m.type() === 'info' && console.log('     page:', m.text()));
    let sessions = 0;
    let t0 = 0;
    // Only the POST URL: routing the DELETE too would hold up the keepalive one sent on pagehide.
    await context.route('**/whep/school-a/room-101', async (route) => {
      const req = route.request();
      const posted = Date.now();
      const answer = await sender.evaluate((offer) => window.answer(offer), req.postData());
      sessions++;
      if (sessions === 1) console.log(`     first POST ${posted - t0} ms after navigation; the stand-in answered in ${Date.now() - posted} ms`);
      return route.fulfill({
        status: 201,
        headers: {
          'Content-Type': 'application/sdp',
          Location: `sessions/${sessions}`,
          Link: '<turn:127.0.0.1:3478?transport=tcp>; rel="ice-server"; username="u"; credential="p"; credential-type="password"',
        },
        body: answer,
      });
    });
    t0 = Date.now();
    await page.goto(`${base}/live/school-a/room-101?token=tok`);
    check(await waitFor(page, () => window.__classcast?.state === 'live'), `live: state live after ${Date.now() - t0} ms`);
    check(await waitFor(page, () => (window.__classcast.stats?.framesDecoded ?? 0) > 20 && window.__classcast.stats.fps > 0), 'live: frames decoded');
    await sleep(1500);
    const s = await page.evaluate(() => window.__classcast);
    console.log('     stats:', JSON.stringify(s.stats));
    check(s.stats.width === 640 && s.stats.height === 360, `live: resolution ${s.stats.width}x${s.stats.height}`);
    check(s.stats.videoBitrate > 0 && s.stats.audioBitrate > 0, 'live: video and audio bitrate');
    check(s.stats.totalSamplesReceived > 0, 'live: audio samples received');
    check(!!s.stats.videoCodec && !!s.stats.audioCodec, `live: codecs ${s.stats.videoCodec} / ${s.stats.audioCodec}`);
    check(s.stats.rttMs !== null, `live: rtt ${s.stats.rttMs} ms`);
    check(
      (await page.evaluate(() => localStorage.getItem('classcast.iceServers'))) ===
        '[{"urls":"turn:127.0.0.1:3478?transport=tcp","username":"u","credential":"p"}]',
      'live: ICE servers from the Link header kept for the next join',
    );
    // Chromium lets a MediaStream play with sound without a gesture.
    check(!s.autoplayMuted && (await page.isHidden('#unmute')), 'live: plays with sound, no unmute button');
    await page.keyboard.press('s');
    check(await page.isVisible('#stats'), "'s' opens the stats panel");
    await sleep(1200);
    await page.screenshot({ path: join(out, 'live-playing.png') });
    await page.click('#lang-toggle');
    await sleep(1100);
    await page.screenshot({ path: join(out, 'live-playing-en.png') });
    await page.click('#lang-toggle');

    // The server side goes away: the player notices and joins again by itself.
    await sender.evaluate(() => window.pcs.at(-1).close());
    const t1 = Date.now();
    check(await waitFor(page, () => window.__classcast.state === 'reconnecting', undefined, 15_000), `reconnect: state reconnecting after ${Date.now() - t1} ms`);
    check(await waitFor(page, () => window.__classcast.state === 'live' && window.__classcast.sessions === 2, undefined, 20_000), `reconnect: live again after ${Date.now() - t1} ms`);
    check(deletes.length === 0, `reconnect: no DELETE for the session the server ended (${JSON.stringify(deletes)})`);

    // The picture stops while the connection stays up: rejoin after 10 s without frames.
    await sender.evaluate(() => window.pcs.at(-1).getSenders().find((x) => x.track?.kind === 'video').replaceTrack(null));
    const t2 = Date.now();
    check(await waitFor(page, () => window.__classcast.sessions === 3, undefined, 20_000), `frozen video: rejoined after ${Date.now() - t2} ms`);
    check(await waitFor(page, () => window.__classcast.state === 'live'), 'frozen video: live again');
    check(deletes.length === 1 && deletes[0].url === '/whep/school-a/sessions/2' && deletes[0].auth === 'Bearer tok', `frozen video: old session DELETEd (${JSON.stringify(deletes)})`);

    // Fullscreen holds the video and the stats panel.
    await page.click('#fullscreen');
    check(await waitFor(page, () => document.fullscreenElement?.id === 'player', undefined, 3000), 'fullscreen: on');
    await page.keyboard.press('f');
    check(await waitFor(page, () => document.fullscreenElement === null, undefined, 3000), "fullscreen: 'f' leaves");

    // Phone, portrait.
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(500);
    await page.screenshot({ path: join(out, 'live-phone.png') });

    // With request interception on, Chromium drops keepalive requests sent while unloading.
    await context.unrouteAll();
    await page.goto('about:blank');
    await sleep(500);
    check(deletes.length === 2 && deletes[1].url.endsWith('/sessions/3'), `pagehide: session DELETEd (${deletes.length} DELETEs)`);
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await context.close();

    // The answer names an address the browser cannot reach (UDP blocked): give up after 10 s, say so, retry.
    {
      const p3 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors3 = watchErrors(p3);
      let posts = 0;
      await p3.route('**/whep/school-a/room-101', async (route) => {
        posts++;
        const answer = await sender.evaluate((offer) => window.answer(offer), route.request().postData());
        const unreachable = answer
          .split('\r\n')
          .filter((l) => !l.startsWith('a=candidate') && !l.startsWith('a=end-of-candidates'))
          .join('\r\n')
          .replace(/(a=mid:0\r\n)/, '$1a=candidate:1 1 udp 2130706431 192.0.2.123 9 typ host\r\n');
        return route.fulfill({ status: 201, headers: { 'Content-Type': 'application/sdp', Location: 'sessions/u' }, body: unreachable });
      });
      await p3.goto(`${base}/live/school-a/room-101`);
      const t3 = Date.now();
      check(await waitFor(p3, () => window.__classcast?.message.startsWith('无法连接到媒体服务器'), undefined, 15_000), `UDP blocked: told after ${Date.now() - t3} ms`);
      check(await waitFor(p3, () => window.__classcast.state === 'reconnecting') && posts >= 1, `UDP blocked: reconnecting (${posts} POSTs)`);
      await p3.screenshot({ path: join(out, 'live-ice-failed.png') });
      check(errors3.length === 0, `no console errors (${errors3.join(' | ')})`);
      await p3.close();
    }

    // Chromium always lets a WebRTC MediaStream play with sound; Safari and Firefox
    // do not without a gesture. Emulate them: play() with sound before any user
    // click fails with NotAllowedError, as theirs does.
    {
      const p2 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors2 = watchErrors(p2);
      // (navigator.userActivation is already set after Playwright's navigation, so count clicks.)
      await p2.addInitScript(() => {
        let clicked = false;
        addEventListener('click', () => (clicked = true), true);
        const play = HTMLMediaElement.prototype.play;
        HTMLMediaElement.prototype.play = function () {
          if (!this.muted && !clicked) {
            return Promise.reject(new DOMException('play() needs a user gesture', 'NotAllowedError'));
          }
          return play.call(this);
        };
      });
      await p2.route('**/whep/school-a/room-101', async (route) => {
        const answer = await sender.evaluate((offer) => window.answer(offer), route.request().postData());
        return route.fulfill({ status: 201, headers: { 'Content-Type': 'application/sdp', Location: 'sessions/x' }, body: answer });
      });
      await p2.goto(`${base}/live/school-a/room-101`);
      check(await waitFor(p2, () => window.__classcast?.state === 'live'), 'autoplay blocked: still live');
      check(await p2.evaluate(() => window.__classcast.autoplayMuted && document.querySelector('video').muted && !document.querySelector('video').paused), 'autoplay blocked: plays muted');
      check(await p2.isVisible('#unmute'), 'autoplay blocked: unmute button shown');
      check((await p2.textContent('#unmute')).trim() === '点击开启声音', 'autoplay blocked: 点击开启声音');
      await p2.screenshot({ path: join(out, 'live-unmute.png') });
      await p2.click('#unmute');
      check(await waitFor(p2, () => !document.querySelector('video').muted && !document.querySelector('video').paused), 'unmute button: sound on');
      check(await p2.isHidden('#unmute'), 'unmute button: gone');
      check(errors2.length === 0, `no console errors (${errors2.join(' | ')})`);
      await p2.close();
    }
    await sender.close();
  }

  // ---- landing page.
  if (runLive) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    let body = {
      streams: [
        { path: 'school-a/room-101', live: true, viewers: 3, tracks: [{ codec: 'H264' }, { codec: 'MPEG4Audio' }], source: 'rtsp-publish' },
        { path: '实验中学/高二(3)班', live: true, viewers: 41, tracks: [{ codec: 'H264' }, { codec: 'Opus' }], source: 'relay' },
        { path: 'school-b/room-7', live: false, viewers: 0, tracks: [], source: 'rtsp-pull' },
      ],
    };
    let calls = 0;
    await page.route('**/api/v1/streams', (route) => {
      calls++;
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
    });
    await page.goto(`${base}/`);
    check(await waitFor(page, () => document.querySelectorAll('#live-list li').length === 2), 'list: two live classes');
    const hrefs = await page.$$eval('#live-list a', (as) => as.map((a) => a.getAttribute('href')));
    check(hrefs[0] === '/live/school-a/room-101', `list: link ${hrefs[0]}`);
    check(hrefs[1] === '/live/%E5%AE%9E%E9%AA%8C%E4%B8%AD%E5%AD%A6/%E9%AB%98%E4%BA%8C(3)%E7%8F%AD', `list: encoded link ${hrefs[1]}`);
    check(await page.isHidden('#empty'), 'list: no empty message');
    await page.screenshot({ path: join(out, 'home.png'), fullPage: true });
    body = { streams: [] };
    check(await waitFor(page, () => !document.getElementById('empty').hidden, undefined, 7000), 'list: refreshed, 暂无直播 shown');
    check((await page.textContent('#empty .empty-title')) === '暂无直播', 'list: empty text');
    check(calls >= 2, `list: polled (${calls} calls)`);
    await page.screenshot({ path: join(out, 'home-empty.png') });
    await page.setViewportSize({ width: 390, height: 844 });
    body = {
      streams: [{ path: 'school-a/room-101', live: true, viewers: 3, tracks: [{ codec: 'H264' }], source: 'rtsp-publish' }],
    };
    await waitFor(page, () => document.querySelectorAll('#live-list li').length === 1, undefined, 7000);
    await page.screenshot({ path: join(out, 'home-phone.png'), fullPage: true });
    check(errors.length === 0, `no console errors (${errors.join(' | ')})`);
    await page.close();
  }
  if (runVod) await vodChecks();
} finally {
  await browser.close();
  await senderBrowser.close();
  await server.close();
  if (vodDir) rmSync(vodDir, { recursive: true, force: true });
}

console.log(failures ? `${failures} check(s) failed` : 'all checks passed', `— screenshots in ${out}`);
process.exit(failures ? 1 : 0);
