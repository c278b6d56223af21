import { describe, expect, it } from "@effect/vitest"
import { PlexSection } from "@plexsync/domain/PlexClient"
import { describeDuplicates, describeOverlap, duplicateNames, overlaps } from "../src/doctor/Libraries.js"

const section = (key: string, title: string, locations: ReadonlyArray<string>) =>
  new PlexSection({ key, title, type: "movie", locations })

describe("doctor's library checks", () => {
  it("finds a folder inside another library's, and the same folder in two libraries once", () => {
    const all = section("1", "All Videos", ["/media"])
    const movies = section("2", "Movies", ["/media/videos"])
    const twin = section("3", "Twin", ["/media/videos/"])
    const apart = section("4", "Apart", ["/media2"])
    expect(overlaps([all, apart]).map(describeOverlap)).toEqual([])
    expect(overlaps([all, movies, twin, apart]).map(describeOverlap)).toEqual([
      "All Videos (/media) contains Movies (/media/videos)",
      "All Videos (/media) contains Twin (/media/videos/)",
      "Movies and Twin both hold /media/videos/"
    ])
  })

  it("counts file names that distinct files share, not one file seen in two libraries", () => {
    const duplicates = duplicateNames([
      "/media/a/video.mp4",
      "/media/b/video.mp4",
      "/media/c/video.mp4",
      "/media/a/video.mp4",
      "/media/a/scene.mp4",
      "/media/b/scene.mp4",
      "/media/a/unique.mp4"
    ])
    expect(duplicates.files).toBe(5)
    expect(describeDuplicates(duplicates)).toBe("video.mp4 ×3, scene.mp4 ×2")
  })
})
