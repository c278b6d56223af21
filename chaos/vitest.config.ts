import { chaosConfig } from "./lib/vitestConfig.js"

/** `pnpm chaos`: every case at full size (tens of kills, 10 000 jobs, a minute of flapping). Minutes, not seconds. */
export default chaosConfig({
  name: "chaos",
  env: { CHAOS_FULL: "1" },
  testTimeout: 30 * 60_000,
  hookTimeout: 5 * 60_000,
  // The cases start servers and kill processes: one file at a time keeps their timing honest.
  fileParallelism: false
})
