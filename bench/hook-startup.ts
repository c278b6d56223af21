/**
 * Whole-process time of `plexsync hook < event.json` (a real-shaped Scene.Update.Post hook that queues one
 * scene in a real SQLite database) next to bare `node -e 0`, measured in the same run, interleaved, as the
 * median of many runs. Stash waits for this process on every scene save; the target is ≤ 3× bare Node. The same
 * for a Tag.Update.Post hook (records one object event): Stash waits as long on every tag, performer, studio or
 * group save, so it has the same target.
 * Also measured, and reported apart: the first hook after the configuration changed (it validates the whole
 * configuration on the Effect path before the fast path can take over).
 *
 *   pnpm build && node apps/cli/scripts/bundle.mjs     # the built binary (and its bundle)
 *   npx tsx bench/hook-startup.ts [--runs 31]
 *
 * Writes bench/results/hook-startup.json.
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const here = Path.dirname(fileURLToPath(import.meta.url))
const repo = Path.resolve(here, "..")
const bin = Path.join(repo, "apps", "cli", "build", "esm", "bin.js")
const bundle = Path.join(repo, "apps", "cli", "build", "bundle", "HookMain.js")

const runsArg = process.argv.indexOf("--runs")
const runs = runsArg === -1 ? 31 : Math.max(3, Number(process.argv[runsArg + 1]))

if (!Fs.existsSync(bin)) {
  console.error(`missing ${bin}: run \`pnpm build\` (or \`npx tsc -b apps/cli/tsconfig.build.json\`) first`)
  process.exit(1)
}

const dataDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-hook-bench-"))
const event = JSON.stringify({
  server_connection: {
    Scheme: "http",
    Host: "0.0.0.0",
    Port: 9999,
    SessionCookie: { Name: "session", Value: "cookie", Path: "", Domain: "", Expires: "0001-01-01T00:00:00Z" },
    Dir: "/root/.stash",
    PluginDir: "/root/.stash/plugins/plexsync"
  },
  args: {
    mode: "hook",
    hookContext: {
      id: 45,
      type: "Scene.Update.Post",
      input: { id: "45", title: "A scene", tag_ids: ["21"] },
      inputFields: ["title", "tag_ids", "id"]
    }
  }
})
/** A tag renamed: the fast path records one object event. */
const tagEvent = JSON.stringify({
  ...JSON.parse(event),
  args: {
    mode: "hook",
    hookContext: { id: 21, type: "Tag.Update.Post", input: { id: "21", name: "Outdoors" }, inputFields: ["name", "id"] }
  }
})
const home = Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-hook-bench-home-"))
const env = { PATH: process.env.PATH ?? "", HOME: home, PLEXSYNC_DATA_DIR: dataDir }

const time = (command: string, args: ReadonlyArray<string>, input?: string, homeDir = home): number => {
  const start = process.hrtime.bigint()
  const result = spawnSync(command, args, { input: input ?? "", env: { ...env, HOME: homeDir }, encoding: "utf8" })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${result.stderr}`)
  }
  if (input !== undefined && !result.stdout.includes("\"output\"")) {
    throw new Error(`plexsync hook did not record the event: ${result.stdout} ${result.stderr}`)
  }
  return ms
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

// Warm up: creates and migrates the database, fills the OS file cache.
for (let i = 0; i < 3; i++) {
  time(process.execPath, ["-e", "0"])
  time(process.execPath, [bin, "hook"], event)
}

const node: Array<number> = []
const hook: Array<number> = []
const tagHook: Array<number> = []
for (let i = 0; i < runs; i++) {
  node.push(time(process.execPath, ["-e", "0"]))
  hook.push(time(process.execPath, [bin, "hook"], event))
  tagHook.push(time(process.execPath, [bin, "hook"], tagEvent))
}
// A fresh home each time: no remembered configuration, so the hook validates it on the Effect path.
const cold: Array<number> = []
for (let i = 0; i < Math.max(3, Math.floor(runs / 4)); i++) {
  cold.push(time(process.execPath, [bin, "hook"], event, Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-cold-"))))
}

const result = {
  benchmark: "hook-startup",
  description: "whole-process wall time of `plexsync hook < event.json` (queues one scene) vs `node -e 0`",
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: Os.cpus().length,
  loadAverage: Os.loadavg().map((x) => Math.round(x * 100) / 100),
  runs,
  bundled: Fs.existsSync(bundle),
  nodeMedianMs: Math.round(median(node) * 10) / 10,
  hookMedianMs: Math.round(median(hook) * 10) / 10,
  ratio: Math.round((median(hook) / median(node)) * 100) / 100,
  tagHookMedianMs: Math.round(median(tagHook) * 10) / 10,
  tagHookRatio: Math.round((median(tagHook) / median(node)) * 100) / 100,
  target: 3,
  firstHookAfterConfigChangeMedianMs: Math.round(median(cold) * 10) / 10,
  firstHookRatio: Math.round((median(cold) / median(node)) * 100) / 100,
  date: new Date().toISOString()
}

console.log(`node -e 0:                 median ${result.nodeMedianMs} ms over ${runs} runs`)
console.log(`plexsync hook < event.json: median ${result.hookMedianMs} ms over ${runs} runs`)
console.log(`ratio: ${result.ratio}× bare Node (target ≤ ${result.target}×)`)
console.log(`plexsync hook < tag-event.json: median ${result.tagHookMedianMs} ms, ${result.tagHookRatio}× bare Node`)
console.log(
  `first hook after a configuration change (validates it): median ${result.firstHookAfterConfigChangeMedianMs} ms, ` +
    `${result.firstHookRatio}×${result.bundled ? "" : " — unbundled: run node apps/cli/scripts/bundle.mjs"}`
)
Fs.mkdirSync(Path.join(here, "results"), { recursive: true })
Fs.writeFileSync(Path.join(here, "results", "hook-startup.json"), JSON.stringify(result, null, 2) + "\n")
Fs.rmSync(dataDir, { recursive: true, force: true })
Fs.rmSync(home, { recursive: true, force: true })
