/**
 * Publishing setup of one stream: the RTMP server URL and the stream key
 * (copy buttons; the key is only ever shown at creation or rotation, so this
 * tab keeps it in sessionStorage), the OBS settings that suit the stream's
 * low latency, key rotation and ending the stream.
 */
import { api, type StreamInfo } from "../api.js";
import { copyButton, el, replace } from "../dom.js";

export interface StreamKeys {
  streamKey: string;
  ingestUrl: string;
}

const keyStore = (streamId: string) => `edge.studio.key.${streamId}`;

export function rememberKey(streamId: string, keys: StreamKeys): void {
  sessionStorage.setItem(keyStore(streamId), JSON.stringify(keys));
}

export function recallKey(streamId: string): StreamKeys | null {
  try {
    return JSON.parse(sessionStorage.getItem(keyStore(streamId)) ?? "null") as StreamKeys | null;
  } catch {
    return null;
  }
}

/** rtmp://host:1935/live/<key> → rtmp://host:1935/live (OBS wants server and key apart). */
export function serverOf(ingestUrl: string): string {
  return ingestUrl.slice(0, ingestUrl.lastIndexOf("/"));
}

/** OBS → Settings → Output (Advanced) / Stream: what fits 1 s keyframes and ~1 s parts. */
export const OBS_SETTINGS: Array<[string, string]> = [
  ["Service", "Custom…"],
  ["Keyframe interval", "1 s (never 0/auto: segments and parts are cut at keyframes)"],
  ["Rate control", "CBR, 2500–4500 kb/s for 720p"],
  ["x264 preset / tune", "veryfast / zerolatency"],
  ["Profile, B-frames", "main or high, B-frames 0"],
  ["Audio", "AAC 128 kb/s, 48 kHz"],
];

export function setupCard(stream: StreamInfo, apiKey: string, onChange: () => void, onError: (message: string) => void): HTMLElement {
  const keys = recallKey(stream.streamId);
  const keyText = el("span", { class: "secret", "data-role": "stream-key" }, keys ? "•".repeat(16) : "Hidden: rotate to get a new key");
  let revealed = false;
  const reveal = el("button", { type: "button", class: "copy", "aria-pressed": "false" }, "Show");
  reveal.addEventListener("click", () => {
    const current = recallKey(stream.streamId);
    if (!current) return;
    revealed = !revealed;
    keyText.textContent = revealed ? current.streamKey : "•".repeat(16);
    reveal.textContent = revealed ? "Hide" : "Show";
    reveal.setAttribute("aria-pressed", String(revealed));
  });
  const server = keys ? serverOf(keys.ingestUrl) : "rtmp://<origin>:1935/live";
  const rotate = el("button", { type: "button", class: "button" }, "Rotate key");
  rotate.addEventListener("click", async () => {
    rotate.disabled = true;
    try {
      const r = await api<{ streamKey: string; ingestUrl: string | null }>(`/api/streams/${stream.streamId}/key/rotate`, {
        method: "POST",
        apiKey,
      });
      rememberKey(stream.streamId, { streamKey: r.streamKey, ingestUrl: r.ingestUrl ?? `${server}/${r.streamKey}` });
      onChange();
    } catch (error) {
      onError(`Could not rotate the key: ${(error as Error).message}`);
      rotate.disabled = false;
    }
  });
  const end = el("button", { type: "button", class: "button danger" }, "End stream");
  end.addEventListener("click", async () => {
    if (!confirm("End this stream for everyone? It cannot be restarted.")) return;
    end.disabled = true;
    try {
      await api(`/api/studio/streams/${stream.streamId}/end`, { method: "POST", apiKey });
      onChange();
    } catch (error) {
      onError(`Could not end the stream: ${(error as Error).message}`);
      end.disabled = false;
    }
  });
  const kv = el(
    "dl",
    { class: "kv" },
    el("dt", {}, "Server"),
    el("dd", { class: "secret", "data-role": "server" }, server),
    el("dd", {}, keys ? copyButton("server URL", () => server) : null),
    el("dt", {}, "Stream key"),
    el("dd", {}, keyText),
    el(
      "dd",
      { class: "row" },
      keys ? reveal : null,
      keys ? copyButton("stream key", () => recallKey(stream.streamId)?.streamKey ?? "") : null,
    ),
  );
  const obs = el("ul", { class: "obs" }, ...OBS_SETTINGS.map(([k, v]) => el("li", {}, el("b", {}, `${k}: `), v)));
  const card = el(
    "section",
    { class: "card", "aria-label": "Publishing setup" },
    el("h2", { class: "panel-title" }, "Publish"),
    kv,
    el("h3", { class: "panel-title" }, "OBS settings"),
    obs,
    el("div", { class: "row" }, rotate, end),
  );
  return card;
}

export function endedCard(stream: StreamInfo): HTMLElement {
  const stats = stream.stats;
  const facts = el("dl", { class: "stats" });
  const add = (k: string, v: string) => facts.append(el("dt", {}, k), el("dd", {}, v));
  const dur = stats?.durationMs ?? (stream.startedAt && stream.endedAt ? stream.endedAt - stream.startedAt : null);
  add("Duration", dur === null ? "–" : `${Math.round(dur / 1000)} s`);
  add("Peak viewers", String(stats?.peakViewers ?? "–"));
  add("Average viewers", stats ? stats.avgViewers.toFixed(1) : "–");
  add("Joins", String(stats?.joins ?? "–"));
  const card = el(
    "section",
    { class: "card", "aria-label": "Final statistics" },
    el("h2", { class: "panel-title" }, "Final statistics"),
    facts,
  );
  if (stream.startedAt) card.append(el("a", { class: "button primary", href: `/replay/${stream.streamId}` }, "Open the replay"));
  else card.append(el("p", { class: "muted" }, "The stream never went live: no replay."));
  return card;
}

export function thumbnailsCard(urls: string[]): HTMLElement {
  const card = el("section", { class: "card", "aria-label": "Thumbnails" }, el("h2", { class: "panel-title" }, "Thumbnails"));
  const grid = el("div", { class: "thumbs" });
  replace(
    grid,
    ...urls.slice(-8).map((u) => el("img", { src: new URL(u, location.href).pathname, alt: "Stream thumbnail", width: 320, height: 180 })),
  );
  card.append(urls.length ? grid : el("p", { class: "muted" }, "No thumbnail yet."));
  return card;
}
