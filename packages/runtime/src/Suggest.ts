/** Edit distance between two short strings (names, keys). */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

/** The closest known name to a mistyped one, if it is close enough to be a likely typo. */
export const closest = (name: string, known: ReadonlyArray<string>): string | undefined => {
  // A typo is short; anything long (pasted junk, a megabyte of it) is no typo and costs no comparison.
  if (name.length > 100) return undefined
  const lower = name.toLowerCase()
  let best: { name: string; d: number } | undefined
  for (const candidate of known) {
    const d = distance(lower, candidate.toLowerCase())
    if (best === undefined || d < best.d) best = { name: candidate, d }
  }
  if (best === undefined) return undefined
  return best.d <= Math.max(2, Math.floor(best.name.length / 4)) ? best.name : undefined
}

export const didYouMean = (name: string, known: ReadonlyArray<string>): string => {
  const suggestion = closest(name, known)
  return suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`
}
