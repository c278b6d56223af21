/** `pnpm docs:settings`: writes docs/settings.md from the settings table (a test checks it is current). */
import { renderSettingsDoc } from "../packages/runtime/src/SettingsDoc.js"
import * as Fs from "node:fs"
import * as Path from "node:path"

const target = Path.resolve(import.meta.dirname, "..", "docs", "settings.md")
Fs.writeFileSync(target, renderSettingsDoc())
process.stdout.write(`wrote ${Path.relative(process.cwd(), target)}\n`)
