/**
 * Bad input as a message repeats it back: a scene id, a task mode, a command-line argument, a value of a hook's
 * JSON or of a setting. Whoever sent a megabyte (or escape codes) gets a message that names the start of it, not a
 * log line or a Stash task error a megabyte long. Dependency-free: the hook's fast path loads it.
 */

/** The most characters (code points) of a bad value a message repeats. */
export const echoLimit = 100

// eslint-disable-next-line no-control-regex
const control = /[\u0000-\u001f\u007f-\u009f]/g

const escapeControls = (text: string) =>
  text.replace(control, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** The first `limit` code points, and what to add when that is not all of it. */
const cut = (text: string, limit: number) => {
  const points = Array.from(text)
  return points.length <= limit
    ? { head: text, rest: "" }
    : { head: points.slice(0, limit).join(""), rest: `… (${points.length} characters)` }
}

/**
 * The text cut to `limit` code points (an ellipsis and the full length say that it was cut), control characters
 * written as `\uXXXX` so none reaches a terminal or a log line raw.
 */
export const clipEcho = (text: string, limit: number = echoLimit): string => {
  const { head, rest } = cut(text, limit)
  return escapeControls(head) + rest
}

/** Any value as a message quotes it: a string as JSON (clipped), anything else as its JSON, clipped. */
export const quoteEcho = (value: unknown, limit: number = echoLimit): string => {
  if (typeof value === "string") {
    const { head, rest } = cut(value, limit)
    return JSON.stringify(head) + rest
  }
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch {
    json = undefined
  }
  return clipEcho(json ?? String(value), limit)
}
