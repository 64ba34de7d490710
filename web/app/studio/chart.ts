/** A small SVG line chart of the viewer count over time (no library: a polyline). */
const SVG = "http://www.w3.org/2000/svg";

export class ViewerChart {
  readonly element: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly caption: HTMLParagraphElement;
  private readonly points: Array<{ t: number; v: number }> = [];
  private readonly line: SVGPolylineElement;
  private readonly area: SVGPolygonElement;

  constructor(private readonly windowMs = 10 * 60_000) {
    this.svg = document.createElementNS(SVG, "svg");
    this.svg.setAttribute("class", "chart");
    this.svg.setAttribute("viewBox", "0 0 300 90");
    // stretched to the card's width; the caption is HTML so its text is not stretched with it
    this.svg.setAttribute("preserveAspectRatio", "none");
    this.svg.setAttribute("role", "img");
    this.area = document.createElementNS(SVG, "polygon");
    this.area.setAttribute("class", "area");
    this.line = document.createElementNS(SVG, "polyline");
    this.line.setAttribute("class", "line");
    this.svg.append(this.area, this.line);
    this.caption = document.createElement("p");
    this.caption.className = "chart-caption";
    this.element = document.createElement("div");
    this.element.append(this.caption, this.svg);
  }

  add(value: number, t = Date.now()): void {
    const last = this.points.at(-1);
    if (last && t - last.t < 500) last.v = value;
    else this.points.push({ t, v: value });
    while (this.points.length > 2 && this.points[0]!.t < t - this.windowMs) this.points.shift();
    this.draw(t);
  }

  /** Extends the last value to now (called on a timer so the line keeps moving). */
  tick(): void {
    const last = this.points.at(-1);
    if (last) this.add(last.v);
  }

  get values(): number[] {
    return this.points.map((p) => p.v);
  }

  private draw(now: number): void {
    const max = Math.max(1, ...this.points.map((p) => p.v));
    const start = Math.min(this.points[0]?.t ?? now, now - 60_000);
    const span = Math.max(1, now - start);
    const xy = this.points.map((p) => `${(((p.t - start) / span) * 300).toFixed(1)},${(86 - (p.v / max) * 66).toFixed(1)}`);
    // steps, not slopes: the count changes at an instant
    const stepped: string[] = [];
    xy.forEach((point, i) => {
      if (i > 0) stepped.push(`${point.split(",")[0]},${xy[i - 1]!.split(",")[1]}`);
      stepped.push(point);
    });
    this.line.setAttribute("points", stepped.join(" "));
    this.area.setAttribute("points", stepped.length ? `${stepped.join(" ")} 300,90 ${stepped[0]!.split(",")[0]},90` : "");
    const current = this.points.at(-1)?.v ?? 0;
    this.caption.textContent = `${current} watching now · peak ${max}`;
    this.svg.setAttribute("aria-label", `Viewers over the last minutes: now ${current}, peak ${max}`);
  }
}
