import type { SceneId } from "@plexsync/domain/Ids"
import type { PlexItem, PlexItemFields } from "@plexsync/domain/PlexClient"
import { blankPlexItem } from "@plexsync/domain/PlexClient"
import { fileAt, type StashFile, StashScene } from "@plexsync/domain/StashScene"

export const sceneId = (n: number | string) => String(n) as SceneId

const ref = (name: string, i: number) => ({ id: String(i + 1), name })

export const makeScene = (
  overrides:
    & Partial<
      Omit<ConstructorParameters<typeof StashScene>[0], "performers" | "tags" | "groups" | "studio" | "id" | "files">
    >
    & {
      readonly id?: number | string
      readonly studio?: string | null
      readonly performers?: ReadonlyArray<string>
      readonly tags?: ReadonlyArray<string>
      readonly groups?: ReadonlyArray<string>
      readonly files?: ReadonlyArray<string | StashFile>
    } = {}
): StashScene => {
  const id = sceneId(overrides.id ?? 1)
  return new StashScene({
    id,
    title: overrides.title === undefined ? `Scene ${id}` : overrides.title,
    details: overrides.details === undefined ? "A summary." : overrides.details,
    date: overrides.date === undefined ? "2024-05-06" : overrides.date,
    rating100: overrides.rating100 === undefined ? 80 : overrides.rating100,
    studio: overrides.studio === undefined ? { id: "1", name: "Studio A" } : overrides.studio === null
      ? null
      : { id: "1", name: overrides.studio },
    performers: (overrides.performers ?? ["Anna", "Bob"]).map(ref),
    tags: (overrides.tags ?? ["tag1", "tag2"]).map(ref),
    groups: (overrides.groups ?? []).map(ref),
    files: (overrides.files ?? [`/stash/media/scene${id}.mp4`]).map((file) =>
      typeof file === "string" ? fileAt(file) : file
    ),
    screenshot: overrides.screenshot === undefined ? `http://stash/scene/${id}/screenshot?t=1` : overrides.screenshot,
    updatedAt: overrides.updatedAt ?? "2024-05-06T10:00:00+02:00",
    createdAt: overrides.createdAt ?? "2024-05-01T10:00:00+02:00"
  })
}

export const makeItem = (overrides: Partial<PlexItemFields> = {}): PlexItem =>
  blankPlexItem({ ratingKey: "100", sectionKey: "1", title: "scene1", files: ["/data/scene1.mp4"], ...overrides })
