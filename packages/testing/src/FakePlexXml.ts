/**
 * XML for the fake Plex: the same `MediaContainer` the fake sends as JSON, in Plex's XML shape.
 * Scalars become attributes (booleans as `"1"`/`"0"`), arrays of objects become child elements named
 * like the JSON key, except `Metadata`, whose entries are `<Video>` (movies, episodes) or `<Directory>`.
 */

const escape = (value: string): string =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const attribute = (value: unknown): string | undefined => {
  if (value === null || value === undefined) return undefined
  if (typeof value === "boolean") return value ? "1" : "0"
  if (typeof value === "number" || typeof value === "string") return escape(String(value))
  return undefined
}

const elementNameFor = (key: string, child: Record<string, unknown>): string => {
  if (key !== "Metadata") return key
  return child["type"] === "movie" || child["type"] === "episode" || child["type"] === "clip" ? "Video" : "Directory"
}

const element = (name: string, value: Record<string, unknown>, depth: number): string => {
  const pad = "  ".repeat(depth)
  const attributes: Array<string> = []
  const children: Array<string> = []
  for (const [key, child] of Object.entries(value)) {
    if (Array.isArray(child)) {
      for (const entry of child) {
        if (entry !== null && typeof entry === "object") {
          const record = entry as Record<string, unknown>
          children.push(element(elementNameFor(key, record), record, depth + 1))
        }
      }
    } else if (child !== null && typeof child === "object") {
      children.push(element(key, child as Record<string, unknown>, depth + 1))
    } else {
      const text = attribute(child)
      if (text !== undefined) attributes.push(`${key}="${text}"`)
    }
  }
  const open = attributes.length > 0 ? `${pad}<${name} ${attributes.join(" ")}` : `${pad}<${name}`
  return children.length === 0 ? `${open} />` : `${open}>\n${children.join("\n")}\n${pad}</${name}>`
}

/** `{ MediaContainer: {...} }` as an XML document. */
export const toXml = (body: Record<string, unknown>): string => {
  const [rootName, root] = Object.entries(body)[0] ?? ["MediaContainer", {}]
  return `<?xml version="1.0" encoding="UTF-8"?>\n${element(rootName, root as Record<string, unknown>, 0)}\n`
}
