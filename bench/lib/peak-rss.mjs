/**
 * Preloaded (`node --import`) into a process a benchmark measures: when the process exits, writes its peak
 * resident set size to the file named by BENCH_PEAK_RSS_FILE, as `{"maxRssKb": n}`.
 */
import { writeFileSync } from "node:fs"

const file = process.env.BENCH_PEAK_RSS_FILE
if (file !== undefined && file !== "") {
  process.on("exit", () => writeFileSync(file, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS })))
}
