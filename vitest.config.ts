import * as Os from "node:os"
import { defineConfig } from "vitest/config"

// Options for the whole run; the projects are in vitest.workspace.ts. Most end-to-end files spend their time
// waiting on child processes and servers, so several files run at once even on a 2-core machine (vitest's default
// there is one at a time).
export default defineConfig({
  test: {
    maxWorkers: Math.max(3, Math.min(8, Os.availableParallelism())),
    minWorkers: 1
  }
})
