import { assert, describe, it } from "@effect/vitest"
import {
  basename,
  dirname,
  mapPath,
  parsePathMap,
  pathKey,
  PathMapFromString,
  sectionForPath
} from "@plexsync/domain/PathMap"
import { PlexSection } from "@plexsync/domain/PlexClient"
import { Either, Option, ParseResult, Schema } from "effect"

const parse = (text: string) => {
  const result = parsePathMap(text)
  if (Either.isLeft(result)) throw new Error(ParseResult.TreeFormatter.formatErrorSync(result.left))
  return result.right
}

const parseError = (text: string): string => {
  const result = parsePathMap(text)
  assert.isTrue(Either.isLeft(result), `expected ${text} to be refused`)
  return Either.isLeft(result) ? ParseResult.TreeFormatter.formatErrorSync(result.left) : ""
}

describe("PLEXSYNC_PATH_MAP parsing", () => {
  it("reads entries separated by ; and ignores blanks and surrounding spaces", () => {
    const map = parse(" /stash/media => /data ; ;/mnt/b=>/b;")
    assert.deepStrictEqual(
      map.map((m) => [m.stashPrefix, m.plexPrefix]),
      [["/stash/media", "/data"], ["/mnt/b", "/b"]]
    )
  })

  it("an empty value is an empty map", () => {
    assert.deepStrictEqual(parse(""), [])
  })

  it("names the bad entry", () => {
    const refused: ReadonlyArray<readonly [text: string, message: string]> = [
      ["/a=>/b;/oops", "entry 2 (\"/oops\") has no \"=>\""],
      ["/a=>/b=>/c", "entry 1 (\"/a=>/b=>/c\") has more than one \"=>\""],
      ["=>/b", "empty Stash prefix"],
      ["/a=>  ", "empty Plex prefix"],
      ["/a=>/b;/a/=>/c", "entry 2 (\"/a/=>/c\") repeats the Stash prefix of entry 1"]
    ]
    for (const [text, message] of refused) assert.include(parseError(text), message)
  })

  it("round-trips through its encoded form", () => {
    const map = parse("/a=>/b;C:\\Media=>/media")
    const encoded = Schema.encodeSync(PathMapFromString)(map)
    assert.deepStrictEqual(parse(encoded), map)
  })
})

describe("mapPath", () => {
  /** Each Stash path, mapped through `map`, gives its Plex path. */
  const assertMapped = (
    map: ReturnType<typeof parse>,
    cases: ReadonlyArray<readonly [stash: string, plex: string]>
  ) => {
    for (const [stash, plex] of cases) assert.strictEqual(mapPath(map, stash).path, plex, stash)
  }

  it("the longest matching prefix wins", () => {
    // whatever the order of the entries: both spellings of the map give the same paths
    for (const map of [parse("/stash=>/p1;/stash/special=>/p2"), parse("/stash/special=>/p2;/stash=>/p1")]) {
      assertMapped(map, [["/stash/special/a.mp4", "/p2/a.mp4"], ["/stash/other/a.mp4", "/p1/other/a.mp4"]])
    }
  })

  it("matches whole path segments only", () => {
    const map = parse("/data/a=>/x")
    assert.strictEqual(mapPath(map, "/data/ab/file.mp4").path, "/data/ab/file.mp4")
    assert.isTrue(Option.isNone(mapPath(map, "/data/ab/file.mp4").mapping))
    assert.strictEqual(mapPath(map, "/data/a/file.mp4").path, "/x/file.mp4")
  })

  it("passes an unmapped path through unchanged", () => {
    assert.strictEqual(mapPath([], "/any/where.mkv").path, "/any/where.mkv")
  })

  it("tolerates trailing separators on either side", () => {
    const map = parse("/stash/=>/plex/")
    assert.strictEqual(mapPath(map, "/stash/x/y.mp4").path, "/plex/x/y.mp4")
  })

  it("maps a Windows Stash path to a POSIX Plex path, ignoring case and separator style", () => {
    assertMapped(parse("C:\\Media=>/data"), [
      ["c:/media/Sub Dir/Clip.MP4", "/data/Sub Dir/Clip.MP4"],
      ["C:\\Media\\Sub\\a.mp4", "/data/Sub/a.mp4"],
      ["\\\\?\\C:\\Media\\a.mp4", "/data/a.mp4"]
    ])
  })

  it("writes Windows separators when Plex runs on Windows", () => {
    assertMapped(parse("/stash=>D:\\Plex;/nas=>\\\\server\\share"), [
      ["/stash/x/y.mp4", "D:\\Plex\\x\\y.mp4"],
      ["/nas/y.mp4", "\\\\server\\share\\y.mp4"]
    ])
  })

  it("keeps POSIX paths case-sensitive", () => {
    const map = parse("/Stash=>/plex")
    assert.strictEqual(mapPath(map, "/stash/a.mp4").path, "/stash/a.mp4")
  })
})

describe("path helpers", () => {
  it("pathKey makes the same Windows file equal in any spelling, POSIX files exact", () => {
    assert.strictEqual(pathKey("D:\\Plex\\A.mp4"), pathKey("d:/plex/a.mp4"))
    assert.notStrictEqual(pathKey("/data/A.mp4"), pathKey("/data/a.mp4"))
    assert.strictEqual(pathKey("/data//x/a.mp4"), "/data/x/a.mp4")
  })

  it("basename and dirname", () => {
    const cases: ReadonlyArray<readonly [helper: (path: string) => string, path: string, expected: string]> = [
      [basename, "/data/x/a.mp4", "a.mp4"],
      [basename, "C:\\x\\b.mkv", "b.mkv"],
      [dirname, "/data/x/a.mp4", "/data/x"],
      [dirname, "/a.mp4", "/"],
      [dirname, "D:\\Plex\\x\\a.mp4", "D:\\Plex\\x"]
    ]
    for (const [helper, path, expected] of cases) assert.strictEqual(helper(path), expected, `${helper.name}(${path})`)
  })
})

describe("sectionForPath", () => {
  const sections = [
    new PlexSection({ key: "1", title: "Movies", type: "movie", locations: ["/data"] }),
    new PlexSection({ key: "2", title: "Scenes", type: "movie", locations: ["/data/scenes", "/other"] }),
    new PlexSection({ key: "3", title: "Win", type: "movie", locations: ["E:\\Video"] })
  ]

  it("picks the section whose location is the longest prefix", () => {
    assert.strictEqual(Option.getOrThrow(sectionForPath(sections, "/data/scenes/a.mp4")).section.key, "2")
    assert.strictEqual(Option.getOrThrow(sectionForPath(sections, "/data/movies/a.mp4")).section.key, "1")
    assert.strictEqual(Option.getOrThrow(sectionForPath(sections, "/other/a.mp4")).location, "/other")
    assert.strictEqual(Option.getOrThrow(sectionForPath(sections, "e:/video/a.mp4")).section.key, "3")
    // whatever the order Plex lists the sections in
    const reversed = [...sections].reverse()
    assert.strictEqual(Option.getOrThrow(sectionForPath(reversed, "/data/scenes/a.mp4")).section.key, "2")
    assert.strictEqual(Option.getOrThrow(sectionForPath(reversed, "/data/movies/a.mp4")).section.key, "1")
  })

  it("finds none for a path outside every location (segment-wise)", () => {
    assert.isTrue(Option.isNone(sectionForPath(sections, "/database/a.mp4")))
  })
})
