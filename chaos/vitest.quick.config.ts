import { chaosConfig } from "./lib/vitestConfig.js"

/** The quick variant of every case (small sizes, a few kills): part of the normal test run, under a minute. */
export default chaosConfig({
  name: "chaos-quick",
  testTimeout: 60_000,
  fileParallelism: false
})
