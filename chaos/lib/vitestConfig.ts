import type { ViteUserConfig } from "vitest/config"
import { defineConfig, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"
import { chaosDir, hostResolve } from "./hostResolve.js"

/** The chaos suite's vitest config: every case in `test/`, bare imports resolved as the apps resolve them. */
export const chaosConfig = (test: NonNullable<ViteUserConfig["test"]>) =>
  mergeConfig(
    shared,
    defineConfig({
      root: chaosDir,
      plugins: [hostResolve()],
      test: { include: ["test/**/*.test.ts"], ...test }
    })
  )
