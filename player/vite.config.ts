import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Connect, Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;

// The Go server serves live.html for every /live/<path> URL, watch.html for every
// /watch/<id> and library.html for /library. The dev and preview servers do the
// same, so `npm run dev` behaves like the real thing. The query string stays.
const pageRewrites: [RegExp, string][] = [
  [/^\/live\/[^?]/, '/live.html'],
  [/^\/watch\/[^/?]+\/?(?:\?|$)/, '/watch.html'],
  [/^\/library\/?(?:\?|$)/, '/library.html'],
  [/^\/signin\/?(?:\?|$)/, '/signin.html'],
  [/^\/me\/?(?:\?|$)/, '/me.html'],
  [/^\/upload\/?(?:\?|$)/, '/upload.html'],
  [/^\/review\/?(?:\?|$)/, '/review.html'],
  [/^\/admin\/?(?:\?|$)/, '/admin.html'],
  [/^\/lessons\/[^/?]+\/?(?:\?|$)/, '/lesson.html'],
  [/^\/clips\/[^/?]+\/?(?:\?|$)/, '/clip.html'],
];

const pageRewrite: Connect.NextHandleFunction = (req, _res, next) => {
  const url = req.url;
  const rule = url ? pageRewrites.find(([re]) => re.test(url)) : undefined;
  if (url && rule) {
    const q = url.indexOf('?');
    req.url = rule[1] + (q >= 0 ? url.slice(q) : '');
  }
  next();
};

function classcastServe(): Plugin {
  return {
    name: 'classcast-serve',
    configureServer(server) {
      server.middlewares.use(pageRewrite);
    },
    configurePreviewServer(server) {
      server.middlewares.use(pageRewrite);
    },
    // Vite empties dist/ on every build; put back the placeholder that git tracks
    // so go:embed keeps working on a fresh checkout and `git status` stays clean.
    closeBundle() {
      writeFileSync(resolve(root, 'dist/.gitkeep'), '');
    },
  };
}

// The classcast server to proxy API and WHEP calls to in `npm run dev`.
const backend = process.env.CLASSCAST_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  appType: 'mpa',
  plugins: [classcastServe()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2020',
    // Every browser that can do WebRTC playback loads modules; preload is only a hint.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        index: resolve(root, 'index.html'),
        live: resolve(root, 'live.html'),
        library: resolve(root, 'library.html'),
        watch: resolve(root, 'watch.html'),
        signin: resolve(root, 'signin.html'),
        me: resolve(root, 'me.html'),
        upload: resolve(root, 'upload.html'),
        review: resolve(root, 'review.html'),
        admin: resolve(root, 'admin.html'),
        lesson: resolve(root, 'lesson.html'),
        clip: resolve(root, 'clip.html'),
      },
      output: {
        // Code every page uses goes into one chunk with a name that says so.
        // hls.js (only the watch page loads it) gets a chunk of its own, cached across releases.
        manualChunks(id) {
          if (/\/node_modules\/hls\.js\//.test(id)) return 'hls';
          return /\/src\/(i18n|streampath|nav|api|retry|format|assets|quality)\.ts$|\/src\/styles\/base\.css$/.test(id)
            ? 'common'
            : undefined;
        },
      },
    },
  },
  server: {
    // Keep the browser's Host: the server refuses a sign-in whose Origin and Host
    // differ (login CSRF), which the string shorthand (changeOrigin) would cause.
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/whep': { target: backend, changeOrigin: false },
      '/vod': { target: backend, changeOrigin: false },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
