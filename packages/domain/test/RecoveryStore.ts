import * as Database from "@plexsync/sqlite/Database"
import { StoreLive } from "@plexsync/sqlite/StoreLive"
import { Layer } from "effect"

/** The live SQLite store on one file (with `Database` kept in the context, for raw reads in tests). */
export const storeLayer = (filename: string) =>
  Layer.provideMerge(StoreLive, Database.layer({ filename, quickCheck: false }))
