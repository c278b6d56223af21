import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as Net from "node:net"
import { inject } from "vitest"
import type { CliOptions } from "./cli.js"
import { json, runPlexsync, tempDir } from "./cli.js"
import { plexRoot, startFakes, stashRoot } from "./fakes.js"
import type { Fakes } from "./fakes.js"

const plexsync = (fakes: Fakes, args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.promise(() => runPlexsync(args, { ...options, env: { ...fakes.env, ...options.env } }))

/** The verdict of each check in the human output, by name (the lines come in the order the checks finish). */
const verdicts = (stdout: string): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const line of stdout.trim().split("\n").slice(0, -1)) {
    const m = /^(\S+)\s+(path map|file names|\S+)\s/.exec(line)
    if (m !== null) out[m[2]!] = m[1]!
  }
  return out
}

/** A TCP server that accepts connections and never answers: a host that hangs. */
const silentServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Net.Server; readonly url: string }>((resume) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      socket.on("error", () => sockets.delete(socket))
    })
    server.on("close", () => sockets.forEach((s) => s.destroy()))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      ;(server as unknown as { sockets: Set<Net.Socket> }).sockets = sockets
      resume(Effect.succeed({ server, url: `http://127.0.0.1:${address.port}` }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      ;(server as unknown as { sockets: Set<Net.Socket> }).sockets.forEach((s) => s.destroy())
      server.close(() => resume(Effect.void))
    })
)

/** Runs `plexsync` and notes when each stdout line arrived, relative to the start, and when it ended. */
const timedRun = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(() =>
    new Promise<{ code: number | null; lines: Array<{ at: number; text: string }>; endedAt: number }>(
      (resolve, reject) => {
        const [command, ...prefix] = inject("plexsyncCommand")
        const started = Date.now()
        const child = spawn(command!, [...prefix, ...args], {
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tempDir("plexsync-home-"), NO_COLOR: "1", ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        const lines: Array<{ at: number; text: string }> = []
        let partial = ""
        child.stdout.on("data", (d: Buffer) => {
          partial += d.toString("utf8")
          const parts = partial.split("\n")
          partial = parts.pop()!
          for (const text of parts) lines.push({ at: Date.now() - started, text })
        })
        const timer = setTimeout(() => {
          child.kill("SIGKILL")
          reject(new Error(`plexsync ${args.join(" ")} still running after 30 s: ${JSON.stringify(lines)}`))
        }, 30_000)
        child.on("error", reject)
        child.on("close", (code) => {
          clearTimeout(timer)
          resolve({ code, lines, endedAt: Date.now() - started })
        })
      }
    )
  )

describe("plexsync doctor", () => {
  it.scopedLive("passes every check, and names the check that fails", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes()
      const good = yield* plexsync(fakes, ["doctor"])
      assert.strictEqual(good.code, 0, good.stdout + good.stderr)
      assert.deepStrictEqual(verdicts(good.stdout), {
        config: "ok",
        database: "ok",
        stash: "ok",
        plex: "ok",
        libraries: "ok",
        overlaps: "ok",
        "path map": "ok",
        "file names": "ok"
      })
      assert.include(good.stdout, `${stashRoot}/`)
      assert.include(good.stdout, `inside library Movies (${plexRoot})`)
      assert.include(good.stdout, `${fakes.scenes.length} of ${fakes.scenes.length} sampled Stash files are Plex files`)
      assert.include(good.stdout, "the server owner's token accepted")
      assert.strictEqual(good.stdout.trim().split("\n").at(-1), "All checks passed.")

      const asJson = json(yield* plexsync(fakes, ["doctor", "--json"]))
      assert.isTrue(asJson.ok)
      assert.deepStrictEqual(
        asJson.checks.map((c: any) => `${c.name} ${c.verdict}`),
        ["config", "database", "stash", "plex", "libraries", "overlaps", "path map", "file names"].map((n) => `${n} ok`)
      )

      const noMap = yield* plexsync(fakes, ["doctor"], { env: { PLEXSYNC_PATH_MAP: "" } })
      assert.strictEqual(noMap.code, 1)
      assert.match(noMap.stdout, /^FAIL\s+path map\s+.*is in no library folder/m)

      const badToken = yield* plexsync(fakes, ["doctor"], { env: { PLEXSYNC_PLEX_TOKEN: "not-the-token" } })
      assert.strictEqual(badToken.code, 1)
      assert.match(badToken.stdout, /^FAIL\s+plex\s+Plex rejected the token/m)
      assert.match(badToken.stdout, /^skip\s+libraries/m)
      assert.notInclude(badToken.stdout + badToken.stderr, "not-the-token")

      const noStash = yield* plexsync(fakes, ["doctor"], { env: { PLEXSYNC_STASH_URL: "http://127.0.0.1:1" } })
      assert.strictEqual(noStash.code, 1)
      assert.match(noStash.stdout, /^FAIL\s+stash\s+.*ECONNREFUSED.*PLEXSYNC_STASH_URL/m)

      const noToken = yield* plexsync(fakes, ["doctor"], { env: { PLEXSYNC_PLEX_TOKEN: "" } })
      assert.strictEqual(noToken.code, 1)
      assert.match(noToken.stdout, /^FAIL\s+plex\s+PLEXSYNC_PLEX_TOKEN is not set/m)
    }))

  it.scopedLive(
    "answers within 12 s when both servers hang, printing each line as its check completes",
    () =>
      Effect.gen(function*() {
        const fakes = yield* startFakes({ scenes: 1 })
        const silent = yield* silentServer
        const run = yield* timedRun(["doctor"], {
          ...fakes.env,
          PLEXSYNC_STASH_URL: silent.url,
          PLEXSYNC_PLEX_URL: silent.url
        })
        assert.strictEqual(run.code, 1, JSON.stringify(run.lines))
        assert.isBelow(run.endedAt, 12_000, JSON.stringify(run.lines))
        const text = run.lines.map((l) => l.text).join("\n")
        assert.match(
          text,
          /^FAIL\s+stash\s+Stash at http:\/\/127\.0\.0\.1:\d+ did not answer .* within \d+ ms\. .*PLEXSYNC_STASH_URL/m
        )
        assert.match(text, /^FAIL\s+plex\s+no answer within \d s from http:\/\/127\.0\.0\.1:\d+: is Plex running/m)
        assert.match(text, /^skip\s+libraries\s+needs Plex/m)
        // The local checks are on the screen while the servers are still being waited for.
        const database = run.lines.find((l) => /^ok\s+database/.test(l.text))!
        const stash = run.lines.find((l) => /^FAIL\s+stash/.test(l.text))!
        assert.isBelow(database.at + 2_000, stash.at, JSON.stringify(run.lines))
      }),
    40_000
  )

  it.scopedLive("says when the Plex URL is not Plex, when it speaks plain HTTP, and when the token is a shared user's", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 2 })

      const stashAsPlex = yield* plexsync(fakes, ["doctor"], { env: { PLEXSYNC_PLEX_URL: fakes.stash.url } })
      assert.strictEqual(stashAsPlex.code, 1)
      assert.match(stashAsPlex.stdout, /^FAIL\s+plex\s+.* answers, but it is not Plex Media Server \(GET \/identity/m)
      assert.notInclude(stashAsPlex.stdout, "no longer exists")

      const https = fakes.plex.url.replace("http://", "https://")
      const tls = yield* plexsync(fakes, ["doctor"], {
        env: { PLEXSYNC_PLEX_URL: https, PLEXSYNC_STASH_URL: fakes.stash.url.replace("http://", "https://") }
      })
      assert.strictEqual(tls.code, 1)
      assert.include(tls.stdout, `speaks plain HTTP, not HTTPS: set PLEXSYNC_PLEX_URL=${fakes.plex.url}`)
      assert.include(tls.stdout, `speaks plain HTTP, not HTTPS: set PLEXSYNC_STASH_URL=${fakes.stash.url}`)

      const shared = yield* plexsync(fakes, ["doctor"], { env: { PLEXSYNC_PLEX_TOKEN: fakes.plex.sharedToken } })
      assert.strictEqual(shared.code, 1, shared.stdout)
      assert.match(shared.stdout, /^FAIL\s+plex\s+.*the token is a shared user's, not the server owner's/m)
      assert.notInclude(shared.stdout, "All checks passed")
      assert.notInclude(shared.stdout + shared.stderr, fakes.plex.sharedToken)
    }))

  it.scopedLive("lists overlapping libraries, and warns of duplicate file names the path map leaves to name matching", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 3 })
      const broad = fakes.plex.state.addSection({ key: "2", title: "All Videos", type: "movie", locations: ["/media"] })
      for (const scene of fakes.scenes) {
        fakes.plex.state.addItem({ sectionKey: broad.key, file: scene.files[0]!.path.replace(stashRoot, plexRoot) })
        // A namesake elsewhere: the same file name in another folder.
        const name = scene.files[0]!.path.split("/").at(-1)!
        fakes.plex.state.addItem({ sectionKey: broad.key, file: `/media/personal/2019/${name}` })
      }

      const resolved = yield* plexsync(fakes, ["doctor"])
      assert.strictEqual(resolved.code, 0, resolved.stdout)
      assert.match(
        resolved.stdout,
        /^WARN\s+overlaps\s+All Videos \(\/media\) contains Movies \(\/media\/videos\): a file there is an item in each library, and plexsync writes every copy/m
      )
      assert.match(resolved.stdout, /^ok\s+file names\s+6 Plex files share 3 names .*the path map finds every sampled/m)
      assert.strictEqual(resolved.stdout.trim().split("\n").at(-1), "All checks passed with 1 warning.")

      // A map that lands inside the library folder but on no Plex file: plexsync would fall back to names.
      const unresolved = yield* plexsync(fakes, ["doctor", "--json"], {
        env: { PLEXSYNC_PATH_MAP: `${stashRoot}=>${plexRoot}/moved` }
      })
      const doc = json(unresolved)
      const byName = Object.fromEntries(doc.checks.map((c: any) => [c.name, c]))
      assert.strictEqual(byName["path map"].verdict, "ok")
      assert.include(byName["path map"].detail, "0 of 3 sampled Stash files are Plex files exactly")
      assert.strictEqual(byName["file names"].verdict, "warn")
      assert.match(byName["file names"].detail, /map to no Plex file exactly .*accepts a namesake only when its size/)
      assert.isTrue(doc.ok)
    }))

  it.scopedLive("names only the chosen libraries' overlaps", () =>
    Effect.gen(function*() {
      const fakes = yield* startFakes({ scenes: 1 })
      fakes.plex.state.addSection({ key: "2", title: "All Videos", type: "movie", locations: ["/media"] })
      const chosen = yield* plexsync(fakes, ["doctor"], { env: { PLEXSYNC_PLEX_LIBRARIES: "Movies" } })
      assert.strictEqual(chosen.code, 0, chosen.stdout)
      assert.match(chosen.stdout, /^ok\s+overlaps\s+no library folder holds another library's folder/m)
    }))
})
