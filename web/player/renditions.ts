/**
 * Quality selection for the player's UI: hls.js levels exposed as the
 * `videoRenditions` list that media-chrome's rendition menu reads (the shape
 * of the media-tracks proposal: index access, `selectedIndex` with −1 for
 * automatic, `addrendition` / `change` events), plus a cap on the automatic
 * choice for group actions ("cap the rendition" sent to viewers with poor
 * QoE). Install the list on the <video> before media-chrome sees the element.
 */
import type Hls from "hls.js";

export interface Rendition {
  id: string;
  width: number;
  height: number;
  bitrate: number;
  selected?: boolean;
}

export class RenditionList extends EventTarget {
  [index: number]: Rendition;
  private items: Rendition[] = [];
  private selected = -1;
  private hls: Hls | null = null;
  /** Highest level index automatic selection may use (null: no cap). */
  private cap: number | null = null;

  get length(): number {
    return this.items.length;
  }

  [Symbol.iterator](): Iterator<Rendition> {
    return this.items[Symbol.iterator]();
  }

  /** −1: automatic (hls.js ABR); otherwise the level index. */
  get selectedIndex(): number {
    return this.selected;
  }

  set selectedIndex(index: number) {
    const next = index >= 0 && index < this.items.length ? index : -1;
    if (next === this.selected) return;
    this.selected = next;
    // nextLevel switches at the next fragment without flushing the buffer; −1 gives control back to ABR
    if (this.hls) this.hls.nextLevel = next === -1 ? -1 : this.capped(next);
    this.dispatchEvent(new Event("change"));
  }

  /** Binds to a player's hls.js (after MANIFEST_PARSED, or now if levels are known). */
  attach(hls: Hls): void {
    this.hls = hls;
    const HlsCtor = (globalThis as { Hls?: typeof Hls }).Hls;
    const fill = () => this.setLevels(hls.levels.map((l, i) => ({ id: String(i), width: l.width, height: l.height, bitrate: l.bitrate })));
    if (hls.levels?.length) fill();
    if (HlsCtor) hls.on(HlsCtor.Events.MANIFEST_PARSED, fill);
    this.applyCap();
  }

  detach(): void {
    this.hls = null;
    this.setLevels([]);
    this.selected = -1;
  }

  private setLevels(levels: Rendition[]): void {
    for (let i = 0; i < this.items.length; i++) delete this[i];
    this.items = levels;
    levels.forEach((r, i) => (this[i] = r));
    this.dispatchEvent(new Event(levels.length ? "addrendition" : "removerendition"));
    this.applyCap();
  }

  /**
   * Caps the rendition at `maxHeight` pixels (null lifts the cap). Returns the
   * level index now allowed at most, or null when there is no cap.
   */
  capHeight(maxHeight: number | null): number | null {
    if (maxHeight === null) this.cap = null;
    else {
      let best = 0;
      this.items.forEach((r, i) => {
        if (r.height <= maxHeight && r.height >= (this.items[best]?.height ?? 0)) best = i;
      });
      // nothing small enough: the lowest rendition
      const lowest = this.items.reduce((min, r, i) => (r.height < (this.items[min]?.height ?? Infinity) ? i : min), 0);
      this.cap = this.items.some((r) => r.height <= maxHeight) ? best : lowest;
    }
    this.applyCap();
    // lifted: a viewer's own manual choice that the cap held down comes back
    if (maxHeight === null && this.selected !== -1 && this.hls) this.hls.nextLevel = this.selected;
    return this.cap;
  }

  get capIndex(): number | null {
    return this.cap;
  }

  private capped(index: number): number {
    return this.cap === null ? index : Math.min(index, this.cap);
  }

  private applyCap(): void {
    if (!this.hls) return;
    this.hls.autoLevelCapping = this.cap === null ? -1 : this.cap;
    if (this.cap === null || this.hls.currentLevel <= this.cap) return;
    if (this.selected !== -1) {
      // a manual choice above the cap comes down too, at once (and stays a manual choice)
      this.hls.nextLevel = this.cap;
    } else {
      // automatic: the next load comes from the capped level, and hls.js stays in automatic mode
      // (hls.nextLevel would make it a manual choice that outlives the cap: lifting it would not
      // give the viewer automatic quality back)
      this.hls.nextLoadLevel = this.cap;
    }
  }
}

/** The list on the element, created once (media-chrome reads `video.videoRenditions`). */
export function renditionsOf(video: HTMLVideoElement): RenditionList {
  const holder = video as HTMLVideoElement & { videoRenditions?: RenditionList };
  holder.videoRenditions ??= new RenditionList();
  return holder.videoRenditions;
}
