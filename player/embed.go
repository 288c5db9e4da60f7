// Package player holds the browser side of classcast, built by Vite into dist/ and embedded in the binary.
package player

import "embed"

// Dist is the Vite build output: index.html (stream list), live.html (live player),
// library.html (recordings), watch.html (recordings player) and hashed assets under
// assets/. dist/ is build output and not in git: `make build` (or `npm run build` in
// player/) makes it before anything compiles this package.
//
//go:embed all:dist
var Dist embed.FS
