import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { allSyncFields } from "@plexsync/domain/FieldMapping"
import { Duration, Effect, Either, Option, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { AppConfigShape, ConfigError, ConfigSources } from "../src/AppConfig.js"
import { decodeAppConfig, envToKey, keyToEnv, loadAppConfig, requirePlexToken } from "../src/AppConfig.js"

const base = (env: Record<string, string>, file?: unknown): ConfigSources => ({
  env: { HOME: "/home/u", ...env },
  file: file === undefined ? Option.none() : Option.some({ path: "/etc/plexsync.yml", values: file }),
  cwd: "/work",
  homedir: "/fallback"
})

const ok = (sources: ConfigSources): AppConfigShape => {
  const result = decodeAppConfig(sources)
  if (Either.isLeft(result)) assert.fail(result.left.message)
  return result.right
}
const bad = (sources: ConfigSources): ConfigError => {
  const result = decodeAppConfig(sources)
  if (Either.isRight(result)) assert.fail("expected the configuration to be refused")
  return result.left
}

/** Refuses `env`, with a message that holds every one of `parts`. */
const refusedWith = (env: Record<string, string>, ...parts: ReadonlyArray<string>) => {
  const e = bad(base(env))
  for (const part of parts) assert.include(e.message, part)
}

describe("AppConfig", () => {
  it("gives the contract's defaults when nothing is set", () => {
    const c = ok(base({}))
    assert.strictEqual(c.dataDir, "/home/u/.local/share/plexsync")
    assert.strictEqual(c.databaseFile, "/home/u/.local/share/plexsync/plexsync.db")
    assert.strictEqual(c.stashUrl, "http://127.0.0.1:9999")
    assert.strictEqual(c.plexUrl, "http://127.0.0.1:32400")
    assert.isTrue(Option.isNone(c.plexToken))
    // Every field, in the order the engine writes them.
    assert.deepStrictEqual(c.fields, allSyncFields)
    assert.strictEqual(c.concurrency, 4)
    assert.isFalse(c.preservePlexEdits)
    assert.isTrue(c.strictMatching)
    assert.deepStrictEqual(c.httpAddr, { host: "127.0.0.1", port: 8765 })
    assert.strictEqual(c.logLevel, "info")
    assert.strictEqual(c.logFormat, "text")
    assert.strictEqual(Duration.toMillis(c.pollInterval), 30_000)
    assert.strictEqual(Duration.toMillis(c.lease), 15_000)
    assert.strictEqual(Duration.toMillis(c.holdLimit), 72 * 3_600_000)
    assert.strictEqual(c.breakerThreshold, 5)
    assert.strictEqual(Duration.toMillis(c.probeMin), 5000)
    assert.strictEqual(Duration.toMillis(c.probeMax), 60_000)
    assert.strictEqual(c.rampFrom, 5)
    assert.strictEqual(c.rampTo, 20)
    assert.strictEqual(Duration.toMillis(c.rampOver), 300_000)
    assert.strictEqual(Duration.toMillis(c.dlqRetention), 30 * 86_400_000)
    // Reconciliation is the safety net: daily at 03:30 local time unless told otherwise.
    assert.strictEqual(c.reconcileSchedule._tag, "At")
    assert.strictEqual(c.reconcileSchedule._tag === "At" ? c.reconcileSchedule.expression : "", "30 3 * * *")
    // Every scene: a renamed tag or performer changes no scene's own time, so only a whole pass finds what was missed.
    assert.deepStrictEqual(c.reconcileScope, { _tag: "All" })
    assert.strictEqual(Duration.toMillis(c.shutdownGrace), 10_000)
  })

  it("uses XDG_DATA_HOME for the data directory when it is absolute", () => {
    assert.strictEqual(ok(base({ XDG_DATA_HOME: "/xdg" })).dataDir, "/xdg/plexsync")
    assert.strictEqual(ok(base({ XDG_DATA_HOME: "relative" })).dataDir, "/home/u/.local/share/plexsync")
    assert.strictEqual(ok(base({ PLEXSYNC_DATA_DIR: "data" })).databaseFile, "/work/data/plexsync.db")
  })

  it("schedules reconciliation by a cron time, an interval, or never; refuses both and a bad cron", () => {
    const at = ok(base({ PLEXSYNC_RECONCILE_AT: " 0  */6 * * 1-5 " })).reconcileSchedule
    assert.strictEqual(at._tag === "At" ? at.expression : at._tag, "0 */6 * * 1-5")
    assert.deepStrictEqual(ok(base({ PLEXSYNC_RECONCILE_AT: "never" })).reconcileSchedule, { _tag: "Never" })
    assert.deepStrictEqual(ok(base({ PLEXSYNC_RECONCILE_INTERVAL: "never" })).reconcileSchedule, { _tag: "Never" })
    assert.strictEqual(ok(base({}, { reconcileAt: "15 4 * * 0" })).reconcileSchedule._tag, "At")
    refusedWith(
      { PLEXSYNC_RECONCILE_AT: "30 3 * * *", PLEXSYNC_RECONCILE_INTERVAL: "6h" },
      "PLEXSYNC_RECONCILE_INTERVAL / PLEXSYNC_RECONCILE_AT",
      "not both"
    )
    // The last one is a valid expression no date matches (30 February).
    for (const wrong of ["30 25 * * *", "every night", "30 3 * *", "* * * * * *", "30 3 31 2 *"]) {
      refusedWith({ PLEXSYNC_RECONCILE_AT: wrong }, "PLEXSYNC_RECONCILE_AT", "cron expression")
    }
  })

  it("decodes every kind of value from the environment", () => {
    const c = ok(base({
      PLEXSYNC_PLEX_TOKEN: "tok",
      PLEXSYNC_PLEX_LIBRARIES: "Movies, Scenes ,",
      PLEXSYNC_PATH_MAP: "/data/=>/media/;/other=>/x;",
      PLEXSYNC_FIELDS: "title,rating",
      PLEXSYNC_PRESERVE_PLEX_EDITS: "yes",
      PLEXSYNC_STRICT_MATCHING: "0",
      PLEXSYNC_CONCURRENCY: "8",
      PLEXSYNC_HTTP_ADDR: "[::1]:9000",
      PLEXSYNC_LOG_LEVEL: "WARN",
      PLEXSYNC_LOG_FORMAT: " JSON",
      PLEXSYNC_POLL_INTERVAL: "1m30s",
      PLEXSYNC_RECONCILE_INTERVAL: "daily",
      PLEXSYNC_RECONCILE_SCOPE: "7d",
      PLEXSYNC_PLEX_URL: "https://plex.local:32400/"
    }))
    assert.strictEqual(Redacted.value(Option.getOrThrow(c.plexToken)), "tok")
    assert.deepStrictEqual(c.plexLibraries, ["Movies", "Scenes"])
    assert.deepStrictEqual(c.pathMap, [{ stashPrefix: "/data/", plexPrefix: "/media/" }, {
      stashPrefix: "/other",
      plexPrefix: "/x"
    }])
    assert.deepStrictEqual(c.fields, ["title", "rating"])
    assert.isTrue(c.preservePlexEdits)
    assert.isFalse(c.strictMatching)
    assert.strictEqual(c.concurrency, 8)
    assert.deepStrictEqual(c.httpAddr, { host: "::1", port: 9000 })
    assert.strictEqual(c.logLevel, "warning")
    assert.strictEqual(c.logFormat, "json")
    assert.strictEqual(Duration.toMillis(c.pollInterval), 90_000)
    assert.strictEqual(c.reconcileSchedule._tag, "Every")
    assert.strictEqual(
      c.reconcileSchedule._tag === "Every" ? Duration.toMillis(c.reconcileSchedule.interval) : 0,
      86_400_000
    )
    assert.strictEqual(c.reconcileScope._tag, "Recent")
    assert.strictEqual(c.plexUrl, "https://plex.local:32400")
  })

  it("refuses a malformed value naming the variable, the value and what is allowed", () => {
    const e = bad(base({ PLEXSYNC_CONCURRENCY: "lots" }))
    assert.strictEqual(e.message, "PLEXSYNC_CONCURRENCY=\"lots\": expected a whole number from 1 to 64")
    refusedWith({ PLEXSYNC_LEASE: "15" }, "PLEXSYNC_LEASE=\"15\"", "500ms, 30s")
    refusedWith({ PLEXSYNC_LOG_FORMAT: "xml" }, "PLEXSYNC_LOG_FORMAT=\"xml\"", "text or json")
  })

  it("reports every problem at once", () => {
    // Seven variables, each with a wrong value: each is a problem of its own.
    const wrong = {
      PLEXSYNC_CONCURRENCY: "0",
      PLEXSYNC_PATH_MAP: "/data/",
      PLEXSYNC_FIELDS: "title,colour",
      PLEXSYNC_RECONCILE_INTERVAL: "fortnightly",
      PLEXSYNC_PLEX_URL: "ftp://x",
      PLEXSYNC_HTTP_ADDR: "8765",
      PLEXSYNC_STRICT_MATCHING: "maybe"
    }
    const where = bad(base(wrong)).problems.map((p) => p.where).sort()
    assert.deepStrictEqual(where, Object.keys(wrong).sort())
  })

  it("refuses an unknown PLEXSYNC_ variable and suggests the likely one", () => {
    const e = bad(base({ PLEXSYNC_PLEX_TOKN: "x" }))
    assert.strictEqual(e.message, "PLEXSYNC_PLEX_TOKN: not a plexsync setting (did you mean PLEXSYNC_PLEX_TOKEN?)")
    assert.notInclude(e.message, "\"x\"")
    // variables of other programs are not ours to judge
    ok(base({ PLEX_TOKEN: "x", OTHER_PLEXSYNC_THING: "y" }))
    // a caller may accept its own extra variables
    ok({ ...base({ PLEXSYNC_DEMO_SEED: "1" }), extraVariables: ["PLEXSYNC_DEMO_SEED"] })
  })

  it("never prints a secret's value, even when it is malformed", () => {
    const e = bad(base({ PLEXSYNC_PLEX_TOKEN: "sekrit\nvalue", PLEXSYNC_WEBHOOK_SECRET: "a\u0007b" }))
    assert.notInclude(e.message, "sekrit")
    assert.notInclude(e.message, "a\u0007b")
    assert.include(e.message, "PLEXSYNC_PLEX_TOKEN (value hidden)")
    assert.include(e.message, "PLEXSYNC_WEBHOOK_SECRET (value hidden)")
    const c = ok(base({ PLEXSYNC_PLEX_TOKEN: "sekrit" }))
    assert.notInclude(String(c.plexToken), "sekrit")
    assert.notInclude(JSON.stringify(c), "sekrit")
  })

  it("reads the notify URLs as redacted secrets: a comma or line-separated list, never shown when malformed", () => {
    const discord = "https://discord.com/api/webhooks/1/hook-token"
    const c = ok(base({ PLEXSYNC_NOTIFY_URLS: `${discord}, ntfy+https://push.example.net/t\nhttp://127.0.0.1:9/x` }))
    assert.deepStrictEqual(c.notifyUrls.map(Redacted.value), [
      discord,
      "ntfy+https://push.example.net/t",
      "http://127.0.0.1:9/x"
    ])
    assert.notInclude(JSON.stringify(c) + String(c.notifyUrls), "hook-token")
    assert.strictEqual(c.notifyDlqThreshold, 10)
    assert.deepStrictEqual(ok(base({})).notifyUrls, [])
    assert.strictEqual(ok(base({}, { notifyUrls: [discord] })).notifyUrls.length, 1)
    const e = bad(base({ PLEXSYNC_NOTIFY_URLS: `${discord},ftp://files.example/hook-token` }))
    assert.include(e.message, "PLEXSYNC_NOTIFY_URLS (value hidden)")
    assert.notInclude(e.message, "hook-token")
    refusedWith({ PLEXSYNC_NOTIFY_DLQ_THRESHOLD: "-1" }, "PLEXSYNC_NOTIFY_DLQ_THRESHOLD", "0 to 1000000")
  })

  it("treats an empty variable as unset", () => {
    const c = ok(base({ PLEXSYNC_PLEX_TOKEN: "", PLEXSYNC_CONCURRENCY: "" }))
    assert.isTrue(Option.isNone(c.plexToken))
    assert.strictEqual(c.concurrency, 4)
  })

  it("reads the file's camelCase keys in their natural types; the environment wins", () => {
    const c = ok(base({ PLEXSYNC_CONCURRENCY: "2" }, {
      plexUrl: "http://plex:32400",
      concurrency: 9,
      strictMatching: false,
      plexLibraries: ["Movies, Old", "New"],
      pathMap: { "/data/": "/media/" },
      fields: ["title"],
      rampFrom: 1.5,
      plexToken: "from-file"
    }))
    assert.strictEqual(c.plexUrl, "http://plex:32400")
    assert.strictEqual(c.concurrency, 2)
    assert.isFalse(c.strictMatching)
    assert.deepStrictEqual(c.plexLibraries, ["Movies, Old", "New"])
    assert.deepStrictEqual(c.pathMap, [{ stashPrefix: "/data/", plexPrefix: "/media/" }])
    assert.deepStrictEqual(c.fields, ["title"])
    assert.strictEqual(c.rampFrom, 1.5)
    assert.strictEqual(Redacted.value(Option.getOrThrow(c.plexToken)), "from-file")
    assert.deepStrictEqual(c.configFile, Option.some("/etc/plexsync.yml"))
  })

  it("refuses an unknown key in the file, naming it", () => {
    const e = bad(base({}, { plexUrl: "http://x", plexURL: "http://y" }))
    assert.strictEqual(
      e.message,
      "key \"plexURL\" in /etc/plexsync.yml: not a plexsync setting (did you mean plexUrl?)"
    )
    const v = bad(base({}, { concurrency: "many" }))
    assert.strictEqual(v.message, "concurrency in /etc/plexsync.yml=\"many\": expected a whole number from 1 to 64")
    const notMap = bad(base({}, ["plexUrl"]))
    assert.include(notMap.message, "expected a mapping")
  })

  it("checks settings that only make sense together", () => {
    assert.include(bad(base({ PLEXSYNC_PROBE_MIN: "2m" })).message, "PLEXSYNC_PROBE_MIN / PLEXSYNC_PROBE_MAX")
    assert.include(bad(base({ PLEXSYNC_RAMP_FROM: "50" })).message, "PLEXSYNC_RAMP_FROM / PLEXSYNC_RAMP_TO")
  })

  it("names variables and keys the same way", () => {
    assert.strictEqual(keyToEnv("plexUrl"), "PLEXSYNC_PLEX_URL")
    assert.strictEqual(keyToEnv("preservePlexEdits"), "PLEXSYNC_PRESERVE_PLEX_EDITS")
    assert.strictEqual(envToKey("PLEXSYNC_DLQ_RETENTION"), "dlqRetention")
  })

  it.effect("a command needing Plex refuses a missing token with a message naming the variable", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(requirePlexToken(ok(base({}))))
      assert.include(missing.message, "PLEXSYNC_PLEX_TOKEN is not set")
      const token = yield* requirePlexToken(ok(base({ PLEXSYNC_PLEX_TOKEN: "t" })))
      assert.strictEqual(Redacted.value(token), "t")
    }))
})

describe("loadAppConfig", () => {
  const withFile = (name: string, text: string) => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-config-"))
    const file = Path.join(dir, name)
    Fs.writeFileSync(file, text)
    return { dir, file }
  }
  const load = (env: Record<string, string>, flag?: string) =>
    loadAppConfig({
      env,
      configFlag: Option.fromNullable(flag),
      cwd: "/",
      homedir: "/h"
    }).pipe(Effect.provide(NodeFileSystem.layer))

  it.effect("reads YAML from --config and JSON from PLEXSYNC_CONFIG", () =>
    Effect.gen(function*() {
      const yaml = withFile("c.yaml", "plexUrl: http://yaml:1\nconcurrency: 3\npathMap: /a=>/b\n")
      const json = withFile("c.json", JSON.stringify({ plexUrl: "http://json:1" }))
      const fromFlag = yield* load({ PLEXSYNC_CONFIG: json.file }, yaml.file)
      assert.strictEqual(fromFlag.plexUrl, "http://yaml:1")
      assert.strictEqual(fromFlag.concurrency, 3)
      const fromEnv = yield* load({ PLEXSYNC_CONFIG: json.file })
      assert.strictEqual(fromEnv.plexUrl, "http://json:1")
    }))

  it.effect("says which file is missing or unparsable", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(load({}, "/nonexistent/plexsync.yml"))
      assert.strictEqual(missing.message, "config file /nonexistent/plexsync.yml: no such file")
      const broken = withFile("b.yml", "plexUrl: [unclosed\n")
      const yamlError = yield* Effect.flip(load({}, broken.file))
      assert.include(yamlError.message, "not valid YAML")
      const badJson = withFile("b.json", "{ plexUrl: 1 }")
      const jsonError = yield* Effect.flip(load({}, badJson.file))
      assert.include(jsonError.message, "not valid JSON")
      const dup = withFile("d.yml", "plexUrl: http://a\nplexUrl: http://b\n")
      assert.include((yield* Effect.flip(load({}, dup.file))).message, "not valid YAML")
    }))
})

describe("AppConfig path map", () => {
  it("names the bad entry of a path map", () => {
    const e = bad(base({ PLEXSYNC_PATH_MAP: "/data=>/media;/other" }))
    assert.strictEqual(
      e.message,
      "PLEXSYNC_PATH_MAP=\"/data=>/media;/other\": entry 2 (\"/other\") has no \"=>\"; expected stashPrefix=>plexPrefix, entries separated by \";\""
    )
    const dup = bad(base({}, { pathMap: { "/data": "/a", "/data/": "/b" } }))
    assert.include(dup.message, "pathMap in /etc/plexsync.yml")
    assert.include(dup.message, "repeats the Stash prefix")
  })
})
