/** Machine description and versions of both systems, for the report header. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

function run(command: string, args: string[], anyStatus = false): string {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 20_000 });
  if (result.error || (result.status !== 0 && !anyStatus)) return "";
  return `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
}

function firstLine(text: string): string {
  return text.split("\n")[0]?.trim() ?? "";
}

export function describeMachine(): Record<string, string> {
  const cpus = os.cpus();
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  let distro = "";
  try {
    distro = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux
  }
  return {
    cpu: `${cpus[0]?.model?.trim() ?? "unknown"} (${cpus.length} logical cores as seen by the OS)`,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: `${distro || os.type()} · kernel ${os.release()} · ${os.arch()}`,
    "load average at start (1/5/15 min)": load,
  };
}

function packageVersion(root: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

export function describeVersions(root: string, ffmpeg: string, chromium: string, withPeer: boolean): Record<string, string> {
  const workerd = join(root, "node_modules", "@cloudflare", "workerd-linux-64", "bin", "workerd");
  const commit = run("git", ["-C", root, "rev-parse", "--short", "HEAD"]);
  const dirty = commit && run("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"]) ? " + uncommitted changes" : "";
  const versions: Record<string, string> = {
    "this repo": process.env.BENCH_REVISION ?? (commit ? `${commit}${dirty}` : "not a git checkout"),
    node: process.version,
    wrangler: packageVersion(root, "wrangler"),
    workerd: firstLine(run(workerd, ["--version"])) || packageVersion(root, "workerd"),
    ffmpeg: firstLine(run(ffmpeg, ["-version"])).replace(/ Copyright.*$/, "") || "unknown",
    "hls.js (players)": packageVersion(root, "hls.js"),
    chromium: firstLine(run(chromium, ["--version"])) || "not installed",
  };
  if (withPeer) {
    versions.nginx = firstLine(run("nginx", ["-v"])) || "not installed";
    versions["nginx-rtmp module"] = run("dpkg-query", ["-W", "-f", "${Version}", "libnginx-mod-rtmp"]) || "unknown";
  }
  const wrk = firstLine(run("wrk", ["--version"], true).replace(/Usage[\s\S]*$/, ""));
  versions["load tool"] = wrk ? wrk.replace(/ Copyright.*$/, "") : "wrk not installed (node keep-alive client)";
  return versions;
}
