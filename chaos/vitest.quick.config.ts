import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../vitest.shared.js"
import { chaosDir, hostResolve } from "./lib/hostResolve.js"

/** The quick variant of every case (small sizes, a few kills): part of the normal test run, under a minute. */
export default mergeConfig(
  shared,
  defineConfig({
    root: chaosDir,
    plugins: [hostResolve()],
    test: {
      name: "chaos-quick",
      include: ["test/**/*.test.ts"],
      testTimeout: 60_000,
      fileParallelism: false
    }
  })
)
