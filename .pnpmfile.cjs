// better-sqlite3 compiles from source with node-gyp, which needs the headers of the Node.js that runs it. A Node
// installed by a package manager, nvm or a tarball keeps them beside itself (<prefix>/include/node); when they are
// there and of this very version, node-gyp is pointed at them (it would download them otherwise, which fails
// offline). Anywhere else node-gyp's own default applies.
const fs = require("node:fs")
const path = require("node:path")

/** `<prefix>` of the running Node when `<prefix>/include/node` holds this version's headers, else undefined. */
function localHeaders() {
  const prefix = path.dirname(path.dirname(process.execPath))
  try {
    const header = fs.readFileSync(path.join(prefix, "include", "node", "node_version.h"), "utf8")
    const part = (name) => (new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(header) || [])[1]
    const version = `v${part("MAJOR")}.${part("MINOR")}.${part("PATCH")}`
    if (version !== process.version) return undefined
    if (!fs.existsSync(path.join(prefix, "include", "node", "common.gypi"))) return undefined
    return prefix
  } catch {
    return undefined
  }
}

module.exports = {
  hooks: {
    updateConfig(config) {
      const given = process.env.npm_config_nodedir
      if (given !== undefined && given !== "") return config
      const prefix = localHeaders()
      if (prefix === undefined) return config
      return { ...config, extraEnv: { ...config.extraEnv, npm_config_nodedir: prefix } }
    }
  }
}
