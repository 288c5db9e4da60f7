// Loads the built pages (dist/) in Debian's Chromium and checks them without
// a classcast server: WHEP and API responses are answered by Playwright, and
// for the "live" case a second Chromium acts as the WHEP server, sending a
// canvas video and an oscillator over a real RTCPeerConnection.
//
//   npm run build && npm run smoke            (screenshots in $SMOKE_OUT, default /tmp/classcast-smoke)
//
// This checks the player on its own; the end-to-end tests against the real
// server live with the server.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.env.SMOKE_OUT ?? '/tmp/classcast-smoke';
mkdirSync(out, { recursive: true });

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

// DELETEs reach the preview server itself: Playwright does not see the
// keepalive request a page sends while it unloads.
const deletes = [];
const server = await preview({
  root,
  logLevel: 'warn',
  preview: { host: '127.0.0.1', port: 4173, strictPort: false },
  plugins: [
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

try {
  // ---- live page, nothing publishing: 404.
  {
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
  {
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
  {
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
  {
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
} finally {
  await browser.close();
  await senderBrowser.close();
  await server.close();
}

console.log(failures ? `${failures} check(s) failed` : 'all checks passed', `— screenshots in ${out}`);
process.exit(failures ? 1 : 0);
