/** One bounded request to an origin box: status, headers and the whole body, or why not. */
export type OriginResult =
  | { kind: "response"; status: number; headers: Headers; body: ArrayBuffer }
  | { kind: "timeout" }
  /** `cancel` fired: nobody wants the answer any more. */
  | { kind: "aborted" }
  | { kind: "network"; message: string };

/** Fetches `url` and reads the body, all within `timeoutMs`. Never throws. */
export async function fetchOrigin(url: string, timeoutMs: number, cancel?: AbortSignal): Promise<OriginResult> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`origin did not answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const onCancel = () => controller.abort(new Error("cancelled"));
  if (cancel?.aborted) onCancel();
  cancel?.addEventListener("abort", onCancel, { once: true });
  try {
    const response = await fetch(url, {
      method: "GET",
      headers: { Accept: "*/*", "User-Agent": "edge-hls-mother/1" },
      signal: controller.signal,
    });
    const body = await response.arrayBuffer();
    return { kind: "response", status: response.status, headers: response.headers, body };
  } catch (error) {
    if (timedOut) return { kind: "timeout" };
    if (cancel?.aborted) return { kind: "aborted" };
    return { kind: "network", message: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
    cancel?.removeEventListener("abort", onCancel);
  }
}
