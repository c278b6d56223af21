import { defineConfig } from "vitest/config"

export default defineConfig({
  esbuild: { target: "es2022" },
  ssr: { resolve: { conditions: ["@plexsync/source", "module", "node", "development|production"] } },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: [new URL("./setupTests.ts", import.meta.url).pathname],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
