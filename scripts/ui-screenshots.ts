/**
 * Takes the screenshots of the web UI that README.md shows (docs/ui-*.png): the built `plexsync-scheduler` behind
 * an API token, against a fake Stash and a fake Plex started here, after a short Plex outage, a few scenes
 * dead-lettered (Plex refusing their edits) and a reconciliation — then each page in headless Chromium
 * (/usr/bin/chromium), on a desktop window and two on a phone's (390 px wide).
 *
 *   pnpm ui:screenshots [OUT_DIR]        (default: docs/)
 */
import { builtProgram } from "../packages/testing/src/BuiltProgram.js"
import { freePort, startScheduler } from "../packages/testing/src/SchedulerProcess.js"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { repoRoot, schedulerEnv, startLibrary, waitFor } from "../apps/scheduler/test/e2e.js"
import {
  apiPost,
  apiToken,
  chromiumPath,
  deadLetter,
  hasChromium,
  launchBrowser,
  logIn,
  outage,
  status,
  waitForAllSynced
} from "../apps/scheduler/test/uiTour.js"

const outDir = Path.resolve(process.argv[2] ?? Path.join(repoRoot, "docs"))
const say = (text: string) => process.stdout.write(`${text}\n`)

if (!hasChromium) {
  process.stderr.write(`${chromiumPath} is missing: install Debian's chromium package\n`)
  process.exit(1)
}

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-ui-"))
const logFile = Path.join(dir, "scheduler.log")
const library = await startLibrary({ scenes: 24 })
const scheduler = startScheduler({
  command: builtProgram("apps/scheduler", "bin"),
  cwd: repoRoot,
  env: schedulerEnv(library, Path.join(dir, "data"), await freePort(), {
    PLEXSYNC_API_TOKEN: apiToken,
    PLEXSYNC_BREAKER_THRESHOLD: "2"
  }),
  logFile
})
let failed = false
try {
  await scheduler.ready(60_000)
  say(`scheduler at ${scheduler.baseUrl}`)
  await waitForAllSynced(library, scheduler)
  say("every scene synced; Plex goes down for a moment")
  await outage(library, scheduler, ["2", "9", "14"])
  await waitForAllSynced(library, scheduler)
  await waitFor("the automatic recovery", async () => (await status(scheduler)).lastRecovery !== null || undefined)
  await apiPost(scheduler, "/api/v1/reconcile", { scope: "all" })
  await apiPost(scheduler, "/api/v1/reconcile", { scope: "7d" })
  say("dead-lettering three scenes")
  await deadLetter(library, scheduler, [
    ["5", { title: "Harbour lights, second cut" }],
    ["11", { title: "Morning run (remastered)" }],
    ["17", { title: "Tide pools" }]
  ])

  Fs.mkdirSync(outDir, { recursive: true })
  const browser = await launchBrowser()
  try {
    const session = async (width: number, height: number) => {
      const page = await browser.newPage({ viewport: { width, height } })
      await logIn(page, scheduler.baseUrl)
      return async (path: string, name: string) => {
        await page.goto(`${scheduler.baseUrl}${path}`)
        if (path.startsWith("/scenes")) await page.getByTestId("scene-summary").waitFor()
        if (path === "/dlq") await page.getByTestId("dlq-check-1").check()
        const file = Path.join(outDir, `${name}.png`)
        await page.screenshot({ path: file, fullPage: true })
        say(file)
      }
    }
    const desktop = await session(1200, 800)
    for (
      const [path, name] of [
        ["/", "ui-overview"],
        ["/dlq", "ui-dlq"],
        ["/outages", "ui-outages"],
        ["/runs", "ui-runs"],
        ["/scenes?id=5", "ui-scene"]
      ] as const
    ) await desktop(path, name)
    const phone = await session(390, 844)
    await phone("/", "ui-phone-overview")
    await phone("/dlq", "ui-phone-dlq")
    // A busy queue: Plex answers slowly while scenes changed in Stash wait their turn.
    library.plex.faults.inject({ _tag: "Latency", ms: 3000 })
    for (const id of ["3", "4", "6", "7", "8", "10", "12", "13", "15", "16"]) {
      library.stash.state.updateScene(id, { rating100: 60 })
    }
    await waitFor("jobs to queue", async () => (await status(scheduler)).queue.queued >= 5 || undefined)
    await desktop("/queue", "ui-queue")
    library.plex.faults.clear()
  } finally {
    await browser.close()
  }
} catch (e) {
  failed = true
  process.stderr.write(`${String(e)}\n--- scheduler log ---\n${
    Fs.readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-30).join("\n")
  }\n`)
} finally {
  await scheduler.stop()
  await library.close()
  if (!failed) Fs.rmSync(dir, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
