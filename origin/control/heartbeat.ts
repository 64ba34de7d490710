/**
 * Periodic signed heartbeat to the Worker: the origin pool learns we exist,
 * where to reach us, how loaded we are and how each of our streams is doing
 * (media progress, publisher); the answer says which streams the control
 * plane ended (admin, watchdog) and which publishers lost their key. A missed
 * beat is only logged; the control plane's watchdog decides when we are gone.
 */
import type { HeartbeatResponse } from "../../common/origin-contract.js";
import type { OriginLoad, WorkerApi } from "./worker-api.js";

export function startHeartbeat(
  api: WorkerApi,
  load: () => OriginLoad,
  intervalMs: number,
  log: (message: string) => void,
  /** The control plane's answer: streams to end, publishers to drop. */
  onOrders: (orders: HeartbeatResponse) => void = () => {},
): { beatNow(): Promise<boolean>; stop(): void } {
  let failing = false;
  const beatNow = async (): Promise<boolean> => {
    try {
      onOrders(await api.heartbeat(load()));
      if (failing) log("heartbeat: control plane reachable again");
      failing = false;
      return true;
    } catch (error) {
      if (!failing) log(`heartbeat failed: ${(error as Error).message}`);
      failing = true;
      return false;
    }
  };
  const timer = setInterval(() => void beatNow(), intervalMs);
  timer.unref();
  return { beatNow, stop: () => clearInterval(timer) };
}
