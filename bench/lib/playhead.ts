/**
 * What a simulated viewer "would be showing": the simulated viewer does not
 * decode, so its playhead is modelled like a player's. Pure.
 *
 * Media positions come from chaining EXTINF durations by media sequence
 * number (the same for both systems: no program-date-time needed), so a
 * position is "seconds since the start of segment msn0" on the stream's own
 * timeline, shared by every viewer of that stream.
 */

export interface PlayedSegment {
  msn: number;
  /**
   * Seconds from the start of segment `msn` to the start of this media: an
   * LL-HLS part (the simulated viewer records parts this way); 0 or absent
   * for a whole segment.
   */
  offset?: number;
  /** Seconds. */
  duration: number;
  /** Wall clock (ms) when the whole segment had arrived. */
  loadedAt: number;
}

/** Start (s) of every msn on a timeline chained from EXTINF durations; gaps use the median duration. */
export function chainStarts(durations: Readonly<Record<number, number>>): Map<number, number> {
  const msns = Object.keys(durations)
    .map(Number)
    .sort((a, b) => a - b);
  const starts = new Map<number, number>();
  if (msns.length === 0) return starts;
  const sortedDurations = msns.map((m) => durations[m]!).sort((a, b) => a - b);
  const typical = sortedDurations[Math.floor(sortedDurations.length / 2)]!;
  let at = 0;
  let previous = msns[0]!;
  starts.set(previous, 0);
  for (const msn of msns.slice(1)) {
    at += durations[previous]! + (msn - previous - 1) * typical;
    starts.set(msn, at);
    previous = msn;
  }
  return starts;
}

/**
 * Playhead position (s, on the chained timeline) at wall time `now` of a
 * player that fetched `segments` (or parts) in order: it starts playing the
 * first one as soon as it has arrived, plays at 1x, stalls while the next one
 * has not arrived, and jumps forward over media it skipped. Null before
 * playback started or without segments.
 */
export function playheadAt(segments: readonly PlayedSegment[], starts: ReadonlyMap<number, number>, now: number): number | null {
  if (segments.length === 0) return null;
  let wall = segments[0]!.loadedAt;
  if (now < wall) return null;
  const startOf = (s: PlayedSegment) => {
    const base = starts.get(s.msn);
    return base === undefined ? undefined : base + (s.offset ?? 0);
  };
  let position = startOf(segments[0]!);
  if (position === undefined) return null;
  for (const segment of segments) {
    const start = startOf(segment);
    if (start === undefined) continue;
    if (start > position) position = start; // skipped ahead
    if (segment.loadedAt > wall) {
      if (now < segment.loadedAt) return position; // stalled, waiting for this one
      wall = segment.loadedAt;
    }
    const end = wall + segment.duration * 1000;
    if (now < end) return position + (now - wall) / 1000;
    wall = end;
    position = start + segment.duration;
  }
  return position; // played everything it had: stalled at the end of the buffer
}
