/**
 * Tiny DOM helpers for the pages. Text always goes in as text nodes
 * (textContent), never as HTML: chat, titles and team names come from users
 * and providers.
 */
type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `el("button", { class: "x", type: "button", onclick: fn }, "Send")`. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.textContent = "";
  append(parent, ...children);
}

export function $(selector: string, root: ParentNode = document): HTMLElement {
  const found = root.querySelector<HTMLElement>(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}

export function show(node: Element, visible: boolean): void {
  if (visible) node.removeAttribute("hidden");
  else node.setAttribute("hidden", "");
}

/** "1:02:03" / "2:03" */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "–";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  return n >= 10_000 ? `${(n / 1000).toFixed(n >= 100_000 ? 0 : 1)}k` : String(n);
}

export function copyButton(label: string, value: () => string): HTMLButtonElement {
  const button = el("button", { type: "button", class: "copy" }, "Copy");
  button.setAttribute("aria-label", `Copy ${label}`);
  button.addEventListener("click", () => {
    const done = (text: string) => {
      button.textContent = text;
      setTimeout(() => (button.textContent = "Copy"), 1500);
    };
    navigator.clipboard?.writeText(value()).then(
      () => done("Copied"),
      () => done("Select and copy"),
    );
  });
  return button;
}
