// Opens a classcast page in headless Chromium and prints, every 500 ms, one JSON line
// with what the viewer sees (window.__classcast and the video element), for the Go
// end-to-end tests to assert on. Usage: node watch.mjs URL SECONDS
import { chromium } from 'playwright-core';

const [url, seconds = '20'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node watch.mjs URL [SECONDS]');
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
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.log(JSON.stringify({ t: Date.now() - start, pageerror: String(e) })));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log(JSON.stringify({ t: Date.now() - start, console: m.text() }));
  });
  await page.goto(url);
  const end = start + Number(seconds) * 1000;
  while (Date.now() < end) {
    const sample = await page.evaluate(() => {
      const c = window.__classcast ?? {};
      const s = c.stats ?? {};
      const v = document.querySelector('video');
      return {
        state: c.state ?? null,
        framesDecoded: s.framesDecoded ?? 0,
        keyFramesDecoded: s.keyFramesDecoded ?? 0,
        totalSamplesReceived: s.totalSamplesReceived ?? 0,
        audioPacketsReceived: s.audioPacketsReceived ?? 0,
        width: s.width ?? null,
        height: s.height ?? null,
        videoCodec: s.videoCodec ?? null,
        audioCodec: s.audioCodec ?? null,
        packetsLost: s.packetsLost ?? 0,
        currentTime: v ? v.currentTime : null,
        muted: v ? v.muted : null,
      };
    });
    console.log(JSON.stringify({ t: Date.now() - start, ...sample }));
    await new Promise((r) => setTimeout(r, 500));
  }
} finally {
  await browser.close();
}
