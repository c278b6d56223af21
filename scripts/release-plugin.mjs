#!/usr/bin/env node
/**
 * `pnpm release:plugin [--url URL] [--out DIR]`: builds the Stash plugin source that Stash's **Available Plugins**
 * reads, in DIR (default dist/plugin):
 *
 *   index.yml               one entry per plugin: id, name, description, version, date, path, sha256
 *   plexsync-forward.zip    the forwarder (official Stash container: Python 3 only)
 *   plexsync.zip            `plexsync hook` (Stash hosts with Node.js and plexsync installed)
 *
 * Each zip holds the plugin's files at its root, the manifest as `<id>.yml` with `version:` set to the root
 * package.json's version (the one version source) and `url:` to URL (default: package.json's `homepage`). Serve
 * DIR over HTTP and add `<address>/index.yml` as a plugin source in Stash, or unzip a zip into Stash's plugins
 * folder. Zips are built with Node's zlib (no zip program needed); the same sources give the same bytes.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Zlib from "node:zlib"

const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
const pkg = JSON.parse(Fs.readFileSync(Path.join(root, "package.json"), "utf8"))

const args = process.argv.slice(2)
const option = (name) => {
  const i = args.indexOf(name)
  if (i === -1) return undefined
  const value = args[i + 1]
  if (value === undefined || value.startsWith("--")) {
    process.stderr.write(`release:plugin: ${name} needs a value\n`)
    process.exit(2)
  }
  return value
}
const url = option("--url") ?? pkg.homepage
const out = Path.resolve(process.cwd(), option("--out") ?? Path.join(root, "dist", "plugin"))

/** The plugins: id (the manifest's and the zip's name), the folder, and the files that go in. */
const plugins = [
  { id: "plexsync-forward", dir: "stash-plugin/forward", manifest: "plexsync-forward.yml", files: ["plexsync_forward.py"] },
  { id: "plexsync", dir: "stash-plugin", manifest: "plexsync.yml", files: [] }
]

/** The commit's time, so that a rebuild of the same commit is the same; now outside a git checkout. */
const releaseDate = () => {
  try {
    const iso = execFileSync("git", ["log", "-1", "--format=%cI"], { cwd: root, encoding: "utf8" }).trim()
    if (iso !== "") return new Date(iso)
  } catch {
    // not a git checkout
  }
  return new Date()
}
const date = releaseDate()
const stamp = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "")

/** The manifest with this release's version and url. */
const stampManifest = (text) => {
  let body = text.replace(/^version:.*$/m, `version: ${pkg.version}`)
  body = body.replace(/^url:.*\n/m, "")
  if (url !== undefined) body = body.replace(/^(version:.*\n)/m, `$1url: ${url}\n`)
  return body
}

/** A zip (deflated entries, fixed times) of `entries`: [name, Buffer]. */
const zip = (entries) => {
  const dosTime = ((date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1)) & 0xffff
  const dosDate = (((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate()) & 0xffff
  const locals = []
  const centrals = []
  let offset = 0
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, "utf8")
    const deflated = Zlib.deflateRawSync(data, { level: 9 })
    const crc = Zlib.crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    local.writeUInt16LE(0x0800, 6) // UTF-8 names
    local.writeUInt16LE(8, 8)
    local.writeUInt16LE(dosTime, 10)
    local.writeUInt16LE(dosDate, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(deflated.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBytes.length, 26)
    locals.push(local, nameBytes, deflated)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE((3 << 8) | 20, 4) // made by Unix, so the mode below counts
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt16LE(dosTime, 12)
    central.writeUInt16LE(dosDate, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(deflated.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBytes.length, 28)
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38)
    central.writeUInt32LE(offset, 42)
    centrals.push(central, nameBytes)
    offset += local.length + nameBytes.length + deflated.length
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(centralSize, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, ...centrals, end])
}

/** The manifest's top-level `name:` and `description:` (one line each in these manifests). */
const field = (text, name) => (new RegExp(`^${name}: (.*)$`, "m").exec(text) ?? [])[1]
const yamlString = (text) => JSON.stringify(text)

Fs.mkdirSync(out, { recursive: true })
const index = []
for (const plugin of plugins) {
  const manifest = stampManifest(Fs.readFileSync(Path.join(root, plugin.dir, plugin.manifest), "utf8"))
  const entries = [
    [`${plugin.id}.yml`, Buffer.from(manifest, "utf8")],
    ...plugin.files.map((file) => [file, Fs.readFileSync(Path.join(root, plugin.dir, file))])
  ]
  const archive = zip(entries)
  const file = `${plugin.id}.zip`
  Fs.writeFileSync(Path.join(out, file), archive)
  index.push(
    [
      `- id: ${plugin.id}`,
      `  name: ${yamlString(field(manifest, "name") ?? plugin.id)}`,
      "  metadata:",
      `    description: ${yamlString(field(manifest, "description") ?? "")}`,
      `  version: ${yamlString(pkg.version)}`,
      `  date: ${yamlString(stamp)}`,
      `  path: ${file}`,
      `  sha256: ${createHash("sha256").update(archive).digest("hex")}`
    ].join("\n")
  )
}
Fs.writeFileSync(Path.join(out, "index.yml"), `${index.join("\n")}\n`)
if (url === undefined) {
  process.stderr.write("release:plugin: no --url and no homepage in package.json: the manifests carry no url\n")
}
process.stdout.write(`${Path.relative(process.cwd(), out) || "."}: index.yml, ${plugins.map((p) => `${p.id}.zip`).join(", ")} (version ${pkg.version})\n`)
