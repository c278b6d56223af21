import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Builds plexsync once for the end-to-end tests, which run it as a child process.
      globalSetup: ["./test/e2e/globalSetup.ts"],
      // Each end-to-end test starts several processes; on a busy 2-core machine that takes tens of seconds.
      testTimeout: 120_000
    }
  })
)
