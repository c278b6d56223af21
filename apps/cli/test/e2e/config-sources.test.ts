import { assert, describe, it } from "@effect/vitest"
import { settingsTable } from "@plexsync/runtime/AppConfig"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { json, runPlexsync, tempDir } from "./cli.js"

/** `plexsync config`, the config file found without `--config`, and secrets read from `<NAME>_FILE`. */

const write = (path: string, text: string) => {
  Fs.mkdirSync(Path.dirname(path), { recursive: true })
  Fs.writeFileSync(path, text)
  return path
}

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.promise(() => runPlexsync(args, { env }))

interface Row {
  readonly variable: string
  readonly value: string | null
  readonly set: boolean
  readonly source: string
  readonly from: string | null
}
const row = (document: { settings: ReadonlyArray<Row> }, variable: string): Row => {
  const found = document.settings.find((s) => s.variable === variable)
  assert.isDefined(found, variable)
  return found!
}

describe("configuration that explains itself", () => {
  it.live("finds $XDG_CONFIG_HOME/plexsync/plexsync.yml, else ~/.config/plexsync/plexsync.yml, without --config", () =>
    Effect.gen(function*() {
      const xdg = tempDir()
      const dataDir = tempDir()
      const file = write(Path.join(xdg, "plexsync", "plexsync.yml"), `dataDir: ${dataDir}\nconcurrency: 3\n`)
      const status = yield* run(["status", "--json"], { XDG_CONFIG_HOME: xdg })
      assert.strictEqual(status.code, 0, status.stderr)
      assert.isTrue(Fs.existsSync(Path.join(dataDir, "plexsync.db")), "the found file's data directory was used")

      const shown = json(yield* run(["config", "--json"], { XDG_CONFIG_HOME: xdg, PLEXSYNC_LOG_LEVEL: "warning" }))
      assert.strictEqual(shown.configFile, file)
      assert.deepInclude(row(shown, "PLEXSYNC_CONCURRENCY"), { value: "3", source: "config file", from: file })
      assert.deepInclude(row(shown, "PLEXSYNC_DATA_DIR"), { value: dataDir, source: "config file" })
      assert.deepInclude(row(shown, "PLEXSYNC_LOG_LEVEL"), { value: "warning", source: "env" })
      assert.deepInclude(row(shown, "PLEXSYNC_POLL_INTERVAL"), { value: "30s", source: "default" })
      assert.deepInclude(row(shown, "PLEXSYNC_PLEX_TOKEN"), { value: null, set: false, source: "unset" })

      // No XDG_CONFIG_HOME: ~/.config. An explicit PLEXSYNC_CONFIG= (empty) reads no file at all.
      const home = tempDir()
      const homeFile = write(Path.join(home, ".config", "plexsync", "plexsync.yml"), "concurrency: 7\n")
      const fromHome = json(yield* run(["config", "--json"], { HOME: home, PLEXSYNC_DATA_DIR: tempDir() }))
      assert.strictEqual(fromHome.configFile, homeFile)
      assert.deepInclude(row(fromHome, "PLEXSYNC_CONCURRENCY"), { value: "7", source: "config file" })
      const none = json(
        yield* run(["config", "--json"], { HOME: home, PLEXSYNC_CONFIG: "", PLEXSYNC_DATA_DIR: tempDir() })
      )
      assert.isNull(none.configFile)
      assert.deepInclude(row(none, "PLEXSYNC_CONCURRENCY"), { value: "4", source: "default" })

      // A found file is checked like a named one.
      write(homeFile, "concurency: 7\n")
      const typo = yield* run(["status"], { HOME: home, PLEXSYNC_DATA_DIR: tempDir() })
      assert.strictEqual(typo.code, 2)
      assert.include(typo.stderr, `key "concurency" in ${homeFile}: not a plexsync setting`)
    }))

  it.live("`config` lists every setting with its source, and never a secret; a secret may come from <NAME>_FILE", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const token = "t0ken-from-a-file-SECRET"
      const tokenFile = write(Path.join(dir, "plex_token"), `${token}\n`)
      const env = {
        PLEXSYNC_DATA_DIR: Path.join(dir, "data"),
        PLEXSYNC_PLEX_TOKEN_FILE: tokenFile,
        PLEXSYNC_WEBHOOK_SECRET: "hook-SECRET-in-env",
        PLEXSYNC_PLEX_URL: "http://127.0.0.1:32401"
      }
      const human = yield* run(["config"], env)
      assert.strictEqual(human.code, 0, human.stderr)
      assert.match(human.stdout, /PLEXSYNC_PLEX_TOKEN:\s+\(hidden\)\s+\[secret file .*plex_token\]/)
      assert.match(human.stdout, /PLEXSYNC_WEBHOOK_SECRET:\s+\(hidden\)\s+\[env\]/)
      assert.match(human.stdout, /PLEXSYNC_STASH_API_KEY:\s+\(not set\)\s+\[unset\]/)
      assert.match(human.stdout, /PLEXSYNC_PLEX_URL:\s+http:\/\/127\.0\.0\.1:32401\s+\[env\]/)
      assert.match(human.stdout, /PLEXSYNC_STASH_URL:\s+http:\/\/127\.0\.0\.1:9999\s+\[default\]/)
      const document = json(yield* run(["config", "--json"], env))
      assert.deepStrictEqual(
        document.settings.map((setting: { readonly key: string }) => setting.key),
        settingsTable.map((setting) => setting.key),
        "every setting, in the table's order"
      )
      assert.deepInclude(row(document, "PLEXSYNC_PLEX_TOKEN"), { value: null, set: true, source: "secret file" })
      for (const output of [human.stdout, human.stderr, JSON.stringify(document)]) {
        assert.notInclude(output, token)
        assert.notInclude(output, "hook-SECRET-in-env")
      }

      const both = yield* run(["status"], { ...env, PLEXSYNC_PLEX_TOKEN: token })
      assert.strictEqual(both.code, 2)
      assert.include(both.stderr, "PLEXSYNC_PLEX_TOKEN / PLEXSYNC_PLEX_TOKEN_FILE: give the secret or the file")
      const missing = yield* run(["status"], { ...env, PLEXSYNC_PLEX_TOKEN_FILE: Path.join(dir, "nope") })
      assert.strictEqual(missing.code, 2)
      assert.include(missing.stderr, `PLEXSYNC_PLEX_TOKEN_FILE="${Path.join(dir, "nope")}": no such file`)
      for (const output of [both.stdout, both.stderr, missing.stdout, missing.stderr]) assert.notInclude(output, token)
    }))
})
