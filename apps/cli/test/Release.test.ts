import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Zlib from "node:zlib"
import { parse } from "yaml"

/** `pnpm release:plugin`: the Stash plugin source (index.yml + one zip per plugin) Stash's Available Plugins reads. */

const repoRoot = Path.resolve(import.meta.dirname, "..", "..", "..")
const rootVersion = JSON.parse(Fs.readFileSync(Path.join(repoRoot, "package.json"), "utf8")).version as string

/** The entries of a zip, read from its central directory. */
const unzip = (archive: Buffer): Map<string, Buffer> => {
  const end = archive.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]))
  const count = archive.readUInt16LE(end + 10)
  let at = archive.readUInt32LE(end + 16)
  const files = new Map<string, Buffer>()
  for (let i = 0; i < count; i++) {
    const method = archive.readUInt16LE(at + 10)
    const size = archive.readUInt32LE(at + 20)
    const nameLength = archive.readUInt16LE(at + 28)
    const extra = archive.readUInt16LE(at + 30) + archive.readUInt16LE(at + 32)
    const local = archive.readUInt32LE(at + 42)
    const name = archive.subarray(at + 46, at + 46 + nameLength).toString("utf8")
    const dataAt = local + 30 + archive.readUInt16LE(local + 26) + archive.readUInt16LE(local + 28)
    const raw = archive.subarray(dataAt, dataAt + size)
    files.set(name, method === 8 ? Zlib.inflateRawSync(raw) : raw)
    at += 46 + nameLength + extra
  }
  return files
}

describe("pnpm release:plugin", () => {
  it("writes index.yml and a zip per plugin: manifests with the release's version, url and settings", () => {
    const out = Fs.mkdtempSync(Path.join(Os.tmpdir(), "plexsync-release-"))
    execFileSync(process.execPath, [
      Path.join(repoRoot, "scripts", "release-plugin.mjs"),
      "--url",
      "https://plexsync.example/",
      "--out",
      out
    ], { encoding: "utf8" })
    const index = parse(Fs.readFileSync(Path.join(out, "index.yml"), "utf8")) as ReadonlyArray<Record<string, any>>
    assert.deepStrictEqual(index.map((entry) => entry.id), ["plexsync-forward", "plexsync"])
    for (const entry of index) {
      assert.strictEqual(entry.version, rootVersion)
      assert.isString(entry.metadata.description)
      assert.match(entry.date, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
      const archive = Fs.readFileSync(Path.join(out, entry.path))
      assert.strictEqual(entry.sha256, createHash("sha256").update(archive).digest("hex"), `${entry.path}'s sha256`)
      const files = unzip(archive)
      const manifest = parse(files.get(`${entry.id}.yml`)!.toString("utf8"))
      assert.strictEqual(manifest.version, rootVersion)
      assert.strictEqual(manifest.url, "https://plexsync.example/")
      assert.strictEqual(manifest.name, entry.name)
    }
    const forward = unzip(Fs.readFileSync(Path.join(out, "plexsync-forward.zip")))
    assert.deepStrictEqual([...forward.keys()].sort(), ["plexsync-forward.yml", "plexsync_forward.py"])
    assert.deepStrictEqual(
      forward.get("plexsync_forward.py"),
      Fs.readFileSync(Path.join(repoRoot, "stash-plugin", "forward", "plexsync_forward.py")),
      "the forwarder as it is in the repository"
    )
    const settings = parse(forward.get("plexsync-forward.yml")!.toString("utf8")).settings
    assert.deepStrictEqual(Object.keys(settings).sort(), ["schedulerUrl", "webhookSecret"])
    for (const setting of Object.values(settings) as ReadonlyArray<Record<string, string>>) {
      assert.strictEqual(setting.type, "STRING")
      assert.isString(setting.displayName)
    }
    Fs.rmSync(out, { recursive: true, force: true })
  })

  it("the manifests in the repository carry the root package.json's version", () => {
    for (const manifest of ["stash-plugin/plexsync.yml", "stash-plugin/forward/plexsync-forward.yml"]) {
      const text = Fs.readFileSync(Path.join(repoRoot, manifest), "utf8")
      assert.strictEqual(parse(text).version, rootVersion, manifest)
    }
  })
})
