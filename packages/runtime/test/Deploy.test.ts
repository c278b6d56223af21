import { assert, describe, it } from "@effect/vitest"
import { Either, Option } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { parse } from "yaml"
import { decodeAppConfig, forwarderVariables, secretVariables, settingVariables } from "../src/AppConfig.js"
import { fileVariable } from "../src/ConfigSources.js"

/** deploy/compose.yaml and deploy/systemd: what they set is what plexsync reads. */

const repoRoot = Path.resolve(import.meta.dirname, "..", "..", "..")
const deploy = (name: string) => Path.join(repoRoot, "deploy", name)

interface Service {
  readonly image?: string
  readonly build?: string
  readonly environment?: Readonly<Record<string, string>>
  readonly volumes?: ReadonlyArray<string>
  readonly secrets?: ReadonlyArray<string>
}
interface Compose {
  readonly services: Readonly<Record<string, Service>>
  readonly volumes?: Readonly<Record<string, unknown>>
  readonly secrets?: Readonly<Record<string, { readonly file: string }>>
}

/** Compose's `${NAME:?message}` / `${NAME:-default}` interpolation, with every variable given as `value`. */
const interpolate = (text: string, value: string) => text.replace(/\$\{[A-Z_]+(:[?-][^}]*)?\}/g, value)

const compose = parse(Fs.readFileSync(deploy("compose.yaml"), "utf8")) as Compose
/** `host:container[:mode]` → [host, container] */
const mount = (volume: string) => volume.split(":").slice(0, 2) as [string, string]

describe("deploy/compose.yaml", () => {
  it("runs Stash's and Plex's official images and plexsync built from this repository's Dockerfile", () => {
    assert.deepStrictEqual(Object.keys(compose.services).sort(), ["plex", "plexsync", "stash"])
    assert.match(compose.services.stash!.image!, /^stashapp\/stash(:|$)/)
    assert.match(compose.services.plex!.image!, /^plexinc\/pms-docker(:|$)/)
    const plexsync = compose.services.plexsync!
    assert.isTrue(Fs.existsSync(Path.join(deploy(plexsync.build!), "Dockerfile")), "build: points at the Dockerfile")
  })

  it("gives plexsync only variables it reads, and a configuration it accepts", () => {
    const env = compose.services.plexsync!.environment!
    const known = new Set([...settingVariables, "TZ"])
    for (const name of Object.keys(env)) assert.isTrue(known.has(name), `${name} is not a plexsync setting`)
    for (const name of Object.keys(env).filter((n) => n.endsWith("_FILE"))) {
      assert.include(secretVariables, name.replace(/_FILE$/, ""), `${name} is a secret's file`)
      assert.match(env[name]!, /^\/run\/secrets\//)
      const secret = Path.basename(env[name]!)
      assert.include(compose.services.plexsync!.secrets!, secret, `the service mounts the secret ${secret}`)
      assert.isDefined(compose.secrets?.[secret], `the secret ${secret} is declared`)
    }
    // The secrets' values come from files the user writes; here any value stands for them.
    const given: Record<string, string> = {}
    for (const [name, value] of Object.entries(env)) {
      if (name === "TZ") continue
      const variable = secretVariables.find((s) => fileVariable(s) === name)
      given[variable ?? name] = interpolate(value, "stand-in-secret")
    }
    const decoded = decodeAppConfig({ env: given, file: Option.none(), cwd: "/data", homedir: "/data" })
    assert.isTrue(Either.isRight(decoded), Either.isLeft(decoded) ? decoded.left.message : "")
    const config = Either.getOrThrow(decoded)
    assert.isTrue(Option.isSome(config.plexToken) && Option.isSome(config.webhookSecret))
    // The scheduler's address and the secret are the ones Stash's forwarder is given.
    const stash = compose.services.stash!.environment!
    for (const name of Object.keys(stash).filter((n) => n.startsWith("PLEXSYNC_"))) {
      assert.include([...forwarderVariables, "PLEXSYNC_WEBHOOK_SECRET"], name, `the forwarder reads ${name}`)
    }
    assert.strictEqual(stash.PLEXSYNC_WEBHOOK_SECRET, env.PLEXSYNC_WEBHOOK_SECRET, "one secret for both ends")
    assert.strictEqual(stash.PLEXSYNC_HOOK_URL, "http://plexsync:8765")
    assert.strictEqual(new URL(config.stashUrl).hostname, "stash")
    assert.strictEqual(new URL(config.plexUrl).hostname, "plex")
  })

  it("mounts the data volume and the config file where the image reads them, and maps one media folder", () => {
    const plexsync = compose.services.plexsync!.volumes!.map(mount)
    const data = plexsync.find(([, inside]) => inside === "/data")
    assert.isDefined(data, "/data is mounted")
    assert.isDefined(compose.volumes?.[data![0]], `the volume ${data![0]} is declared`)
    assert.isDefined(plexsync.find(([, inside]) => inside === "/config/plexsync.yml"))

    // PLEXSYNC_PATH_MAP's two sides are the same host folder as Stash and Plex see it.
    const [stashPrefix, plexPrefix] = compose.services.plexsync!.environment!.PLEXSYNC_PATH_MAP!.split("=>")
    const hostOf = (service: string, prefix: string) =>
      compose.services[service]!.volumes!.map(mount).find(([, inside]) =>
        prefix === inside || prefix!.startsWith(`${inside}/`)
      )?.[0]
    const stashHost = hostOf("stash", stashPrefix!)
    assert.isDefined(stashHost, `Stash mounts ${stashPrefix}`)
    assert.strictEqual(hostOf("plex", plexPrefix!), stashHost, "Stash and Plex see the same media folder")
  })
})

describe("deploy/systemd/plexsync-scheduler.service", () => {
  const unit = Fs.readFileSync(deploy("systemd/plexsync-scheduler.service"), "utf8")
  const values = (key: string) =>
    unit.split("\n").filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1))

  it("is hardened, keeps its state in /var/lib/plexsync, restarts on failure, and sets only plexsync's variables", () => {
    assert.deepStrictEqual(values("StateDirectory"), ["plexsync"])
    assert.deepStrictEqual(values("DynamicUser"), ["yes"])
    assert.deepStrictEqual(values("ProtectSystem"), ["strict"])
    assert.deepStrictEqual(values("NoNewPrivileges"), ["yes"])
    assert.deepStrictEqual(values("Restart"), ["on-failure"])
    assert.lengthOf(values("EnvironmentFile"), 1)
    assert.match(values("ExecStart")[0]!, /apps\/scheduler\/build\/esm\/bin\.js$/)
    for (const assignment of values("Environment")) {
      const name = assignment.split("=")[0]!
      if (name.startsWith("PLEXSYNC_")) assert.include(settingVariables, name)
    }
    assert.include(values("Environment"), "PLEXSYNC_DATA_DIR=/var/lib/plexsync")
  })

  it("passes systemd-analyze verify (where systemd is installed)", (context) => {
    const probe = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" })
    if (probe.error !== undefined) return context.skip("systemd-analyze is not installed here")
    const result = spawnSync("systemd-analyze", ["verify", deploy("systemd/plexsync-scheduler.service")], {
      encoding: "utf8"
    })
    // Node may live elsewhere than /usr/bin on this host; that is the one complaint a verify here may have.
    const complaints = result.stderr.split("\n").filter((line) => line.trim() !== "" && !line.includes("/usr/bin/node"))
    assert.deepStrictEqual(complaints, [], result.stderr)
  })
})
