/**
 * Stash's plugin log format: one message per stderr line, prefixed with SOH, a level character and STX
 * (`\x01i\x02message`); a task's progress is `\x01p\x02<0..1>`. No dependencies: the hook's fast path uses it.
 */
const SOH = "\x01"
const STX = "\x02"

/** One log line in Stash's format; multi-line messages become several prefixed lines. */
export const pluginLogLine = (level: "t" | "d" | "i" | "w" | "e", message: string): string =>
  message.split("\n").map((line) => `${SOH}${level}${STX}${line}`).join("\n") + "\n"

export const pluginProgressLine = (fraction: number): string =>
  `${SOH}p${STX}${Math.max(0, Math.min(1, fraction)).toFixed(3)}\n`
