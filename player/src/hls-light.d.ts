// hls.js publishes its light build as "hls.js/light" without a types entry in
// its exports map; its API is the full build's minus optional features
// (alternate audio, subtitles, EME, CMCD, interstitials), so reuse those types.
declare module 'hls.js/light' {
  export * from 'hls.js';
  export { default } from 'hls.js';
}
