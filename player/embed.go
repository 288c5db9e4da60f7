// Package player holds the browser side of classcast, built by Vite into dist/ and embedded in the binary.
package player

import "embed"

// Dist is the Vite build output: index.html (stream list), live.html (live player),
// library.html (recordings), watch.html (recordings player) and hashed assets under
// assets/. Before `npm run build` it holds only .gitkeep,
// so the server should check for index.html and say the player is not built.
//
//go:embed all:dist
var Dist embed.FS
