import { defineConfig } from "vitest/config";

// End-to-end: one real stack (wrangler dev + origin + FFmpeg) shared by all
// files, driven over RTMP, HTTP and a real browser. Files run one at a time:
// they share ports and the machine has two cores.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    globalSetup: ["test/e2e/global-setup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
