import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Builds the scheduler once for the end-to-end tests, which run it as a child process.
      globalSetup: ["./test/globalSetup.ts"]
    }
  })
)
