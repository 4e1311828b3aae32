// Choosing what a <video> plays, shared by the feed and the video page.

/**
 * HLS first for browsers that play it natively (Safari, recent Chromium); otherwise the
 * largest MP4 rendition no taller than the screen in device pixels, or the smallest one.
 */
export function sourcesFor(video) {
  const renditions = video.renditions || [];
  const screenHeight = Math.max(screen.height, innerHeight) * (devicePixelRatio || 1);
  const fitting = renditions.filter((r) => (r.height || 0) <= screenHeight);
  const best = fitting.length ? fitting[fitting.length - 1] : renditions[0];
  const sources = [];
  if (video.hls_url) sources.push([video.hls_url, "application/vnd.apple.mpegurl"]);
  if (best) sources.push([best.url, "video/mp4"]);
  return sources;
}

/** Give `player` its <source> children (once) and start loading them. */
export function attachSources(player, video) {
  if (player.querySelector("source")) return;
  for (const [src, type] of sourcesFor(video)) {
    const source = document.createElement("source");
    source.src = src;
    source.type = type;
    player.append(source);
  }
  player.load();
}

/** Drop the sources so the browser frees the decoder and buffer of a far-away video. */
export function detachSources(player) {
  if (!player.querySelector("source")) return;
  player.pause();
  for (const source of player.querySelectorAll("source")) source.remove();
  player.removeAttribute("src");
  player.load();
}

// Same rules as the server's caption parser: hashtags may be Chinese, mentions are handles.
const CAPTION_RE = /#[\p{L}\p{N}_]{1,40}|@[a-z][a-z0-9_.]{2,23}/giu;

/** The caption as DOM nodes: text, with #tags and @mentions highlighted (mentions link). */
export function captionNodes(caption) {
  const nodes = [];
  let at = 0;
  for (const match of caption.matchAll(CAPTION_RE)) {
    if (match.index > at) nodes.push(document.createTextNode(caption.slice(at, match.index)));
    const text = match[0];
    const el = document.createElement(text.startsWith("@") ? "a" : "span");
    el.className = "slide__tag";
    el.textContent = text;
    if (text.startsWith("@")) el.href = `/u/${encodeURIComponent(text.slice(1).toLowerCase())}`;
    nodes.push(el);
    at = match.index + text.length;
  }
  if (at < caption.length) nodes.push(document.createTextNode(caption.slice(at)));
  return nodes;
}
