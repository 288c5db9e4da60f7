// Opens a recording's watch page (<base>/watch/<id>) in headless Chromium and
// prints, every 500 ms, one JSON line with what the viewer gets
// (window.__classcast.vod and the video element), for the Go end-to-end tests
// to assert on: playback starting, currentTime advancing, the level playing.
//
//   node vodwatch.mjs URL [SECONDS] [--level=NAME] [--seek=SECONDS]
//
// --level picks a quality ("360p", "audio", "auto") through the page's menu,
// and --seek jumps to a time, each once playback has run for a second; a line
// {"t":..,"action":"level"|"seek",...} says when. Lines with "pageerror" or
// "console" report page errors.
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const flags = Object.fromEntries(
  args.filter((a) => a.startsWith('--')).map((a) => {
    const [k, v = ''] = a.slice(2).split('=');
    return [k, v];
  }),
);
const [url, seconds = '20'] = args.filter((a) => !a.startsWith('--'));
if (!url) {
  console.error('usage: node vodwatch.mjs URL [SECONDS] [--level=NAME] [--seek=SECONDS]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
const start = Date.now();
const print = (o) => console.log(JSON.stringify({ t: Date.now() - start, ...o }));
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', (e) => print({ pageerror: String(e) }));
  page.on('console', (m) => {
    if (m.type() === 'error') print({ console: m.text() });
  });
  await page.goto(url);
  const end = start + Number(seconds) * 1000;
  let levelDone = !flags.level;
  let seekDone = !flags.seek;
  while (Date.now() < end) {
    const s = await page.evaluate(() => {
      const c = window.__classcast?.vod ?? {};
      const v = document.querySelector('video');
      let buffered = 0;
      if (v) for (let i = 0; i < v.buffered.length; i++) buffered = Math.max(buffered, v.buffered.end(i));
      return {
        state: c.state ?? null,
        assetState: c.assetState ?? null,
        percent: c.percent ?? 0,
        currentTime: v ? v.currentTime : null,
        duration: c.duration ?? 0,
        level: c.level ?? -1,
        levelName: c.levels?.[c.level]?.name ?? null,
        levels: (c.levels ?? []).map((l) => l.name),
        auto: c.auto ?? null,
        engine: c.engine ?? null,
        rate: v ? v.playbackRate : null,
        paused: v ? v.paused : null,
        muted: v ? v.muted : null,
        videoWidth: v ? v.videoWidth : null,
        videoHeight: v ? v.videoHeight : null,
        readyState: v ? v.readyState : null,
        buffered,
        resumedFrom: c.resumedFrom ?? null,
        storyboardCues: c.storyboardCues ?? 0,
        error: c.error ?? null,
        errorCode: c.errorCode ?? null,
      };
    });
    print(s);
    const playingFor1s = s.state === 'playing' && s.currentTime >= 1;
    if (!levelDone && playingFor1s) {
      levelDone = true;
      const name = flags.level;
      await page.hover('#stage');
      await page.click('#quality');
      await page.click(name === 'auto' ? '#quality-menu [data-level="-1"]' : `#quality-menu [data-name="${name}"]`, { timeout: 3000 });
      print({ action: 'level', name });
    } else if (!seekDone && playingFor1s) {
      seekDone = true;
      await page.evaluate((to) => {
        document.querySelector('video').currentTime = to;
      }, Number(flags.seek));
      print({ action: 'seek', to: Number(flags.seek) });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
} finally {
  await browser.close();
}
