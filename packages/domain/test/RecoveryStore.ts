import { storeOnFile } from "@plexsync/sqlite/StoreLive"

/** The live SQLite store on one file (with `Database` kept in the context, for raw reads in tests). */
export const storeLayer = (filename: string) => storeOnFile(filename, { quickCheck: false })
