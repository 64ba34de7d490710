/**
 * Group messages (README "Groups"): a system post with `group` goes only to
 * the sockets that match every given field, as a direct frame.
 */
import type { ConnectionInfo } from "../connections.js";
import type { GroupFilter } from "../frames.js";

/** The socket tag that narrows the search (connections.ts tags every socket with these). */
export function groupTag(group: GroupFilter): string | undefined {
  if (group.country) return `country:${group.country}`;
  if (group.device) return `device:${group.device}`;
  return group.role ? `role:${group.role}` : undefined;
}

export function inGroup(group: GroupFilter, who: ConnectionInfo): boolean {
  return (
    (group.country === undefined || who.country === group.country) &&
    (group.device === undefined || who.device === group.device) &&
    (group.role === undefined || who.role === group.role)
  );
}
