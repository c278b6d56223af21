import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { loadAppConfig, loadAppConfigSync, secretVariables, settingKeys } from "../src/AppConfig.js"
import { discoverConfigFile } from "../src/ConfigSources.js"
import { renderSettingsDoc, settingMeanings } from "../src/SettingsDoc.js"

const repoRoot = Path.resolve(import.meta.dirname, "..", "..", "..")
const temp = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-config-"))

describe("the config file found without --config", () => {
  const base = { cwd: "/work", homedir: "/home/fallback" }
  const found = (env: Record<string, string>, configFlag: string | undefined, existing: ReadonlyArray<string>) =>
    discoverConfigFile({ ...base, env, configFlag }, (path) => existing.includes(path))

  it("--config, then PLEXSYNC_CONFIG, then $XDG_CONFIG_HOME (or ~/.config), then /config", () => {
    const all = ["/x/plexsync/plexsync.yml", "/home/me/.config/plexsync/plexsync.yml", "/config/plexsync.yml"]
    assert.strictEqual(found({ PLEXSYNC_CONFIG: "/etc/p.yml" }, "rel.yml", all), "/work/rel.yml")
    assert.strictEqual(found({ PLEXSYNC_CONFIG: "p.json", XDG_CONFIG_HOME: "/x" }, undefined, all), "/work/p.json")
    assert.strictEqual(found({ XDG_CONFIG_HOME: "/x", HOME: "/home/me" }, undefined, all), all[0])
    assert.strictEqual(found({ HOME: "/home/me" }, undefined, all), all[1])
    assert.strictEqual(
      found({}, undefined, ["/home/fallback/.config/plexsync/plexsync.yml"]),
      "/home/fallback/.config/plexsync/plexsync.yml"
    )
    assert.strictEqual(found({ HOME: "/home/me" }, undefined, [all[2]!]), "/config/plexsync.yml")
    // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    assert.strictEqual(found({ XDG_CONFIG_HOME: "x", HOME: "/home/me" }, undefined, all), all[1])
    assert.isUndefined(found({ HOME: "/home/me", PLEXSYNC_CONFIG: "" }, undefined, all), "PLEXSYNC_CONFIG= reads none")
    assert.isUndefined(found({ HOME: "/home/me" }, undefined, []))
  })
})

describe("secrets from <NAME>_FILE", () => {
  it.effect("every secret accepts <NAME>_FILE; the file's content, less one trailing line break, is the secret", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        [...secretVariables].sort(),
        [
          "PLEXSYNC_API_TOKEN",
          "PLEXSYNC_NOTIFY_URLS",
          "PLEXSYNC_PLEX_TOKEN",
          "PLEXSYNC_STASH_API_KEY",
          "PLEXSYNC_WEBHOOK_SECRET"
        ]
      )
      const dir = temp()
      Fs.writeFileSync(Path.join(dir, "token"), "tok-from-file\n")
      Fs.writeFileSync(Path.join(dir, "key"), "key-from-file")
      Fs.writeFileSync(Path.join(dir, "hook"), "hook-from-file\r\n")
      // A list secret: one URL a line.
      Fs.writeFileSync(Path.join(dir, "urls"), "https://ntfy.sh/a\nhttps://example.test/b\n")
      Fs.writeFileSync(Path.join(dir, "api"), "api-from-file\n")
      const env = {
        HOME: dir,
        PLEXSYNC_DATA_DIR: dir,
        PLEXSYNC_PLEX_TOKEN_FILE: "token",
        PLEXSYNC_STASH_API_KEY_FILE: Path.join(dir, "key"),
        PLEXSYNC_WEBHOOK_SECRET_FILE: Path.join(dir, "hook"),
        PLEXSYNC_NOTIFY_URLS_FILE: Path.join(dir, "urls"),
        PLEXSYNC_API_TOKEN_FILE: Path.join(dir, "api")
      }
      const options = { env, configFlag: Option.none(), cwd: dir, homedir: dir }
      const config = yield* loadAppConfig(options).pipe(Effect.provide(NodeFileSystem.layer))
      const values = (c: typeof config) =>
        [c.plexToken, c.stashApiKey, c.webhookSecret, c.apiToken].map((s) => Option.map(s, Redacted.value))
      assert.deepStrictEqual(values(config), [
        Option.some("tok-from-file"),
        Option.some("key-from-file"),
        Option.some("hook-from-file"),
        Option.some("api-from-file")
      ])
      assert.deepStrictEqual(config.notifyUrls.map(Redacted.value), ["https://ntfy.sh/a", "https://example.test/b"])
      // The hook's synchronous loader reads them the same way.
      const sync = loadAppConfigSync({
        ...options,
        readFile: (path) => Fs.readFileSync(path, "utf8"),
        yaml: () => {
          throw new Error("no YAML here")
        }
      })
      assert.deepStrictEqual(values(Either.getOrThrow(sync)), values(config))

      const refused = yield* Effect.flip(
        loadAppConfig({ ...options, env: { ...env, PLEXSYNC_STASH_API_KEY_FILE: Path.join(dir, "missing") } }).pipe(
          Effect.provide(NodeFileSystem.layer)
        )
      )
      assert.include(refused.message, `PLEXSYNC_STASH_API_KEY_FILE="${Path.join(dir, "missing")}": no such file`)
    }))
})

describe("docs/settings.md", () => {
  it("has a meaning for every setting, and none for a setting that does not exist", () => {
    assert.deepStrictEqual(Object.keys(settingMeanings).sort(), [...settingKeys].sort())
    for (const [key, meaning] of Object.entries(settingMeanings)) assert.isAbove(meaning.length, 10, key)
  })

  it("is what the settings table generates (`pnpm docs:settings` rewrites it)", () => {
    const current = Fs.readFileSync(Path.join(repoRoot, "docs", "settings.md"), "utf8")
    assert.strictEqual(current, renderSettingsDoc(), "docs/settings.md is stale: run `pnpm docs:settings`")
    for (const key of settingKeys) assert.include(current, `\`${key}\``)
  })
})
