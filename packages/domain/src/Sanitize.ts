/**
 * Text sent to Plex is cleaned first: NFC, control and format characters removed, smart quotes made plain,
 * whitespace collapsed, and lengths capped at a word boundary where one is close to the limit.
 */

/** Length and count caps (characters are Unicode code points). */
export const Limits = {
  title: 255,
  summary: 10_000,
  /** A studio, performer, tag, collection or group name. */
  name: 255,
  performers: 50,
  tags: 100,
  collections: 100
} as const

const smartQuotes: ReadonlyArray<readonly [RegExp, string]> = [
  [/[\u2018\u2019\u201A\u201B\u2032]/g, "'"],
  [/[\u201C\u201D\u201E\u201F\u2033]/g, "\""]
]

// A zero-width joiner inside an emoji sequence (👨‍👩‍👧) is part of the emoji; anywhere else it is noise.
const strayFormat = /(?<!\p{Extended_Pictographic}\uFE0F?)\u200D|(?!\u200D)\p{Cf}/gu
const control = /\p{Cc}/gu
const lineBreaks = /\r\n|[\r\n\u2028\u2029\u0085\v\f]/g
const horizontalSpace = /[^\S\n]+/g

/**
 * Cleans a text without capping it. With `multiline`, single line breaks are kept and blank lines collapse to
 * one (a summary's paragraphs); otherwise every run of whitespace becomes one space.
 */
export const cleanText = (text: string, options?: { readonly multiline?: boolean }): string => {
  let s = text.normalize("NFC")
  s = s.replace(lineBreaks, "\n").replace(/\t/g, " ")
  s = s.replace(strayFormat, "")
  // Line breaks survive the control-character pass as a placeholder-free "\n"; everything else in Cc goes.
  s = s.replace(control, (c) => (c === "\n" ? "\n" : ""))
  for (const [pattern, plain] of smartQuotes) s = s.replace(pattern, plain)
  if (options?.multiline) {
    return s
      .split("\n")
      .map((line) => line.replace(horizontalSpace, " ").trim())
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim()
  }
  return s.replace(/\s+/g, " ").trim()
}

/**
 * Caps a text at `limit` code points. When the last space before the cut lies beyond 80 % of the limit the text
 * is cut there (no half words); otherwise it is cut hard. Never splits a surrogate pair.
 */
export const truncate = (text: string, limit: number): string => {
  const points = Array.from(text)
  if (points.length <= limit) return text
  const head = points.slice(0, limit)
  let lastSpace = -1
  for (let i = head.length - 1; i >= 0; i--) {
    if (/\s/.test(head[i]!)) {
      lastSpace = i
      break
    }
  }
  const cut = lastSpace > 0.8 * limit ? head.slice(0, lastSpace) : head
  return cut.join("").trimEnd()
}

/** A cleaned, capped single-line text; empty when nothing printable is left. */
export const sanitizeLine = (text: string, limit: number): string => truncate(cleanText(text), limit)

export const sanitizeTitle = (text: string): string => sanitizeLine(text, Limits.title)

export const sanitizeSummary = (text: string): string => truncate(cleanText(text, { multiline: true }), Limits.summary)

export const sanitizeName = (text: string): string => sanitizeLine(text, Limits.name)

/** The comparison key of a tag-like name: Plex treats tag names without regard to case. */
export const nameKey = (name: string): string => name.normalize("NFC").toLocaleLowerCase("en-US")

/**
 * Sanitises each name, drops empty ones and duplicates (ignoring case; the first spelling wins), and keeps at
 * most `maxCount`, in order.
 */
export const sanitizeNames = (names: Iterable<string>, maxCount: number): Array<string> => {
  const out: Array<string> = []
  const seen = new Set<string>()
  for (const raw of names) {
    if (out.length >= maxCount) break
    const name = sanitizeName(raw)
    if (name.length === 0) continue
    const key = nameKey(name)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(name)
  }
  return out
}
