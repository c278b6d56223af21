import { assert, describe, it } from "@effect/vitest"
import { objectHookTypes, sceneHookTypes, taskModes } from "@plexsync/runtime/HookInput"
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as YAML from "yaml"

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const pluginDir = Path.join(repoRoot, "stash-plugin")

/**
 * The keys Stash's plugin config decoder accepts (pkg/plugin/config.go). It decodes strictly: any other key
 * makes the plugin fail to load, and `id` is not a key (the id is the file name).
 */
const accepted = {
  top: ["name", "description", "version", "url", "exec", "interface", "errLog", "hooks", "tasks", "settings", "ui"],
  hook: ["name", "description", "triggeredBy", "defaultArgs"],
  task: ["name", "description", "defaultArgs", "execArgs"],
  setting: ["displayName", "description", "type"],
  interfaces: ["raw", "rpc", "js"],
  logLevels: ["trace", "debug", "info", "warning", "error"],
  settingTypes: ["STRING", "NUMBER", "BOOLEAN"]
}
const hookTypes = [
  "Scene",
  "SceneMarker",
  "Image",
  "Gallery",
  "GalleryChapter",
  "Movie",
  "Group",
  "Performer",
  "Studio",
  "Tag"
].flatMap((t) => ["Create", "Update", "Destroy"].map((op) => `${t}.${op}.Post`)).concat(["Tag.Merge.Post"])

const load = (file: string): Record<string, any> => {
  const doc = YAML.parseDocument(Fs.readFileSync(Path.join(pluginDir, file), "utf8"), { uniqueKeys: true })
  assert.deepStrictEqual(doc.errors, [], file)
  return doc.toJS()
}

const checkKeys = (value: Record<string, unknown>, allowed: ReadonlyArray<string>, where: string) => {
  for (const key of Object.keys(value)) assert.include(allowed, key, `${where}: Stash does not accept the key ${key}`)
}

const checkManifest = (file: string) => {
  const m = load(file)
  checkKeys(m, accepted.top, file)
  assert.isString(m.name)
  assert.notProperty(m, "id")
  assert.strictEqual(m.interface, "raw")
  assert.include(accepted.logLevels, m.errLog)
  assert.isArray(m.exec)
  for (const part of m.exec) assert.isString(part)
  const triggers = new Set<string>()
  for (const hook of m.hooks) {
    checkKeys(hook, accepted.hook, `${file} hook ${hook.name}`)
    for (const t of hook.triggeredBy) {
      assert.include(hookTypes, t, `${file}: unknown trigger ${t}`)
      triggers.add(t)
    }
  }
  // The scene hooks, and the hooks of what scenes refer to (their Create hooks need no work: not subscribed).
  assert.deepStrictEqual([...triggers].sort(), [
    "Group.Destroy.Post",
    "Group.Update.Post",
    "Movie.Destroy.Post",
    "Movie.Update.Post",
    "Performer.Destroy.Post",
    "Performer.Update.Post",
    "Scene.Create.Post",
    "Scene.Destroy.Post",
    "Scene.Update.Post",
    "Studio.Destroy.Post",
    "Studio.Update.Post",
    "Tag.Destroy.Post",
    "Tag.Merge.Post",
    "Tag.Update.Post"
  ])
  // Every trigger is one plexsync acts on.
  for (const t of triggers) {
    assert.isTrue((sceneHookTypes as ReadonlyArray<string>).includes(t) || objectHookTypes.includes(t), t)
  }
  for (const task of m.tasks ?? []) checkKeys(task, accepted.task, `${file} task ${task.name}`)
  for (const [key, s] of Object.entries<Record<string, unknown>>(m.settings ?? {})) {
    checkKeys(s, accepted.setting, `${file} setting ${key}`)
    assert.include(accepted.settingTypes, s.type ?? "STRING")
  }
  return m
}

describe("the Stash plugin manifests", () => {
  it("plexsync.yml uses only keys Stash accepts, registers the scene hooks and every task plexsync runs", () => {
    const m = checkManifest("plexsync.yml")
    assert.deepStrictEqual(m.exec, ["plexsync", "hook"])
    const modes = m.tasks.map((t: any) => t.defaultArgs.mode)
    assert.deepStrictEqual([...modes].sort(), [...taskModes].sort())
  })

  it("forward/plexsync-forward.yml uses only keys Stash accepts and runs the forwarder with python3", () => {
    const m = checkManifest(Path.join("forward", "plexsync-forward.yml"))
    assert.deepStrictEqual(m.exec, ["python3", "{pluginDir}/plexsync_forward.py"])
    assert.isTrue(Fs.existsSync(Path.join(pluginDir, "forward", "plexsync_forward.py")))
  })

  it("ships no other YAML Stash would try to load as a plugin", () => {
    const ymls: Array<string> = []
    const walk = (dir: string) => {
      for (const e of Fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(Path.join(dir, e.name))
        else if (/\.ya?ml$/.test(e.name)) ymls.push(Path.relative(pluginDir, Path.join(dir, e.name)))
      }
    }
    walk(pluginDir)
    assert.deepStrictEqual(ymls.sort(), ["forward/plexsync-forward.yml", "plexsync.yml"])
  })
})

// ---------------------------------------------------------------------------------------------------------------
// The forwarder, run with python3 against a stand-in scheduler (and Stash, for the plugin settings)

// The interpreter itself, not a version manager's shim in front of it (a shim's start-up is not the forwarder's).
const python = ((): string | undefined => {
  const found = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" })
  return found.status === 0 && found.stdout.trim() !== "" ? found.stdout.trim() : undefined
})()
if (python === undefined) console.warn("python3 is not installed: the forwarder was not run")

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

const standIn = (answer: (req: Seen) => { status: number; body: unknown }) =>
  Effect.acquireRelease(
    Effect.async<{ port: number; seen: Array<Seen>; server: Http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const server = Http.createServer((req, res) => {
        let body = ""
        req.on("data", (d: Buffer) => (body += d.toString("utf8")))
        req.on("end", () => {
          const s = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body }
          seen.push(s)
          const a = answer(s)
          res.writeHead(a.status, { "content-type": "application/json" })
          res.end(typeof a.body === "string" ? a.body : JSON.stringify(a.body))
        })
      })
      server.listen(0, "127.0.0.1", () => {
        resume(Effect.succeed({ port: (server.address() as AddressInfo).port, seen, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

const forward = (input: string, env: Record<string, string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(python!, [Path.join(pluginDir, "forward", "plexsync_forward.py")], {
      env: { PATH: process.env.PATH ?? "", ...env }
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")))
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    child.stdin.end(input)
  })

const hookInput = (port: number) =>
  JSON.stringify({
    server_connection: {
      Scheme: "http",
      Host: "0.0.0.0",
      Port: port,
      SessionCookie: { Name: "session", Value: "st4sh-c00kie" },
      Dir: "/root/.stash",
      PluginDir: "/root/.stash/plugins/plexsync-forward"
    },
    args: { mode: "hook", hookContext: { id: 45, type: "Scene.Update.Post", input: { id: "45" }, inputFields: ["id"] } }
  })

describe.skipIf(python === undefined)("the forwarder (python3, standard library only)", () => {
  it.scoped("posts the hook to /hooks/stash with the secret from Stash's plugin settings, and prints the reply", () =>
    Effect.gen(function*() {
      const scheduler = yield* standIn(() => ({ status: 202, body: { output: "scene 45 queued (job 3)" } }))
      const stash = yield* standIn(() => ({
        status: 200,
        body: {
          data: {
            configuration: {
              plugins: {
                "plexsync-forward": { schedulerUrl: `http://127.0.0.1:${scheduler.port}`, webhookSecret: "w3bh00k" }
              }
            }
          }
        }
      }))
      const result = yield* forward(hookInput(stash.port), {})
      assert.strictEqual(result.code, 0)
      assert.deepStrictEqual(JSON.parse(result.stdout), { output: "scene 45 queued (job 3)" })

      assert.strictEqual(stash.seen[0]!.url, "/graphql")
      assert.strictEqual(stash.seen[0]!.headers.cookie, "session=st4sh-c00kie")
      const post = scheduler.seen[0]!
      assert.strictEqual(post.method, "POST")
      assert.strictEqual(post.url, "/hooks/stash")
      assert.strictEqual(post.headers.authorization, "Bearer w3bh00k")
      const body = JSON.parse(post.body)
      assert.deepStrictEqual(body.args.hookContext, {
        id: 45,
        type: "Scene.Update.Post",
        input: { id: "45" },
        inputFields: ["id"]
      })
      assert.notInclude(post.body, "st4sh-c00kie", "the Stash session cookie is not sent on")
    }))

  it.scoped("takes the address from the environment, and relays the scheduler's refusal", () =>
    Effect.gen(function*() {
      const scheduler = yield* standIn(() => ({ status: 401, body: { error: "a valid Authorization is required" } }))
      const result = yield* forward(hookInput(1), { PLEXSYNC_HOOK_URL: `http://127.0.0.1:${scheduler.port}/` })
      assert.strictEqual(result.code, 0)
      const reply = JSON.parse(result.stdout)
      assert.include(reply.error, "answered 401")
      assert.include(reply.error, "PLEXSYNC_WEBHOOK_SECRET")
      assert.isUndefined(scheduler.seen[0]!.headers.authorization)
    }))

  it.effect("answers with an error, exit 0, when the scheduler cannot be reached or the input is bad", () =>
    Effect.gen(function*() {
      const down = yield* forward(hookInput(1), { PLEXSYNC_HOOK_URL: "http://127.0.0.1:1" })
      assert.strictEqual(down.code, 0)
      assert.include(JSON.parse(down.stdout).error, "cannot reach plexsync-scheduler at http://127.0.0.1:1/hooks/stash")
      const bad = yield* forward("{nope", {})
      assert.strictEqual(bad.code, 0)
      assert.include(JSON.parse(bad.stdout).error, "not JSON")
    }))

  it.scoped("holds Stash's save about two seconds at most when nothing answers, with one line in Stash's log", () =>
    Effect.gen(function*() {
      // A host that accepts connections and never answers, as Stash (the settings lookup) and as the scheduler.
      const blackhole = yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const sockets = new Set<Net.Socket>()
          const server = Net.createServer((socket) => {
            sockets.add(socket)
            socket.on("close", () => sockets.delete(socket))
          })
          server.on("close", () => sockets.forEach((socket) => socket.destroy()))
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) =>
          Effect.async<void>((resume) => {
            server.close(() => resume(Effect.void))
            server.emit("close")
          })
      )
      const port = (blackhole.address() as AddressInfo).port
      const started = Date.now()
      const result = yield* forward(hookInput(port), { PLEXSYNC_HOOK_URL: `http://127.0.0.1:${port}` })
      const elapsedMs = Date.now() - started
      assert.strictEqual(result.code, 0)
      const reply = JSON.parse(result.stdout)
      assert.match(reply.error, /did not answer within 2 s|timed out/, reply.error)
      assert.include(reply.error, "change feed")
      const errorLines = result.stderr.split("\n").filter((line) => line.startsWith("\x01e\x02"))
      assert.strictEqual(errorLines.length, 1, result.stderr)
      // The budget is 2 s; the rest is the interpreter's start on a busy machine (before: 5 s + 5 s).
      assert.isBelow(elapsedMs, 4_000)
    }))
})
