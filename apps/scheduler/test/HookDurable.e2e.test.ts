import { describe, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { assert } from "vitest"
import { waitFor, withLibrary } from "./e2e.js"

/**
 * A scene the scheduler's `POST /hooks/stash` answered 202 for must survive a power loss right after the answer:
 * the WAL holding its job is synced to disk before the answer, not at the next checkpoint. Watched from outside with
 * strace attached to the running scheduler: the fsync of the database's WAL must come between the request and the
 * answer.
 */

const strace = "/usr/bin/strace"
const canTrace = Fs.existsSync(strace) && spawnSync(strace, ["-e", "trace=none", "true"]).status === 0
if (!canTrace) {
  console.warn(
    `${strace} is missing or may not trace here: the hook endpoint's fsync before its answer was NOT checked`
  )
}

const hookBody = (sceneId: number) =>
  JSON.stringify({
    server_connection: { Scheme: "http", Port: 9999, SessionCookie: null, Dir: "/root/.stash" },
    args: { mode: "hook", hookContext: { id: sceneId, type: "Scene.Update.Post", input: { id: String(sceneId) } } }
  })

describe.skipIf(!canTrace)("the scheduler's hook endpoint on disk", () => {
  it("syncs the database's WAL to disk before it answers 202", async () => {
    await withLibrary(2, async ({ dir, start }) => {
      const scheduler = await start()
      const trace = Path.join(dir, "fsync.trace")
      const tracer = spawn(strace, ["-f", "-y", "-e", "trace=fsync,fdatasync", "-o", trace, "-p", `${scheduler.pid}`], {
        stdio: ["ignore", "ignore", "pipe"]
      })
      let said = ""
      tracer.stderr.on("data", (chunk: Buffer) => (said += chunk.toString()))
      const stopped = new Promise<void>((resolve) => tracer.once("exit", () => resolve()))
      try {
        await waitFor("strace to attach", () => (/attached/.test(said) ? true : undefined), 20_000)
        const walSyncs = () =>
          Fs.existsSync(trace)
            ? Fs.readFileSync(trace, "utf8").split("\n").filter((line) =>
              /(fsync|fdatasync)\(\d+<[^>]*\.db-wal>\)\s+=\s+0/.test(line)
            ).length
            : 0
        const before = walSyncs()
        const answer = await fetch(`${scheduler.baseUrl}/hooks/stash`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: hookBody(1)
        })
        assert.strictEqual(answer.status, 202, await answer.text())
        assert.isAbove(walSyncs(), before, `no fsync of the WAL before the answer; strace saw:\n${said}`)
      } finally {
        tracer.kill("SIGINT")
        await stopped
      }
    })
  }, 90_000)
})
