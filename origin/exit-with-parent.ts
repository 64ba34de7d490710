/**
 * For Node entry points run under scripts/supervisor.ts (the origin, the
 * provider simulator): exit when the supervisor is gone (it was killed
 * without a chance to stop us), so nothing is left running orphaned. The
 * supervisor passes its pid in EDGE_HLS_PARENT_PID; without it, nothing.
 */
export function exitWithParent(onGone: () => void): void {
  const parent = Number(process.env.EDGE_HLS_PARENT_PID);
  if (!Number.isInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      clearInterval(timer);
      onGone();
    }
  }, 1_000);
  timer.unref();
}
