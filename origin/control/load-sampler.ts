/**
 * What an origin tells the control plane about its load besides stream
 * counts: egress bitrate (HLS bytes served per second since the last sample)
 * and CPU use of this machine (0..1, from the kernel's CPU times).
 */
import { cpus } from "node:os";

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

export class LoadSampler {
  private lastBytes: number;
  private lastAt = Date.now();
  private lastCpu = cpuTimes();

  constructor(private readonly bytesServed: () => number) {
    this.lastBytes = bytesServed();
  }

  sample(): { egressBps: number; cpu: number } {
    const now = Date.now();
    const bytes = this.bytesServed();
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000);
    const egressBps = Math.round(((bytes - this.lastBytes) * 8) / seconds);
    const cpu = cpuTimes();
    const total = cpu.total - this.lastCpu.total;
    const busy = total > 0 ? 1 - (cpu.idle - this.lastCpu.idle) / total : 0;
    this.lastBytes = bytes;
    this.lastAt = now;
    this.lastCpu = cpu;
    return { egressBps, cpu: Math.round(Math.min(1, Math.max(0, busy)) * 1000) / 1000 };
  }
}
