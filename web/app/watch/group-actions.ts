/**
 * Group actions (the bidirectional channel to groups of viewers): the
 * broadcaster or an operator sends `{ type: "system", event: "group_action",
 * data, group? }` to the viewers matching a group (country, device, role);
 * the room only delivers it to matching sockets, and this player applies it:
 *
 *   { action: "cap_rendition", maxHeight }   automatic quality at most that high
 *   { action: "uncap_rendition" }            lifts the cap
 *   { action: "notice", text }               a banner over the video
 *
 * The cap's effect shows in the next telemetry report (bitrateKbps).
 */
import type { RenditionList } from "../../player/renditions.js";

export interface AppliedAction {
  action: string;
  at: number;
  detail: string;
}

export interface ActionTarget {
  renditions: RenditionList;
  notice(text: string | null): void;
}

export function applyGroupAction(data: Record<string, unknown>, target: ActionTarget): AppliedAction | null {
  const at = Date.now();
  switch (data.action) {
    case "cap_rendition": {
      const maxHeight = typeof data.maxHeight === "number" && data.maxHeight > 0 ? data.maxHeight : 0;
      const index = target.renditions.capHeight(maxHeight);
      const height = index === null ? null : target.renditions[index]?.height;
      target.notice(`Quality limited to ${height ?? maxHeight}p by the broadcaster to keep playback smooth.`);
      return { action: "cap_rendition", at, detail: `level ≤ ${index} (${height ?? "?"}p)` };
    }
    case "uncap_rendition":
      target.renditions.capHeight(null);
      target.notice(null);
      return { action: "uncap_rendition", at, detail: "automatic quality" };
    case "notice": {
      const text = typeof data.text === "string" ? data.text.slice(0, 280) : "";
      if (!text) return null;
      target.notice(text);
      return { action: "notice", at, detail: text };
    }
    default:
      return null;
  }
}
