import { storeOnFile } from "@plexsync/sqlite/StoreLive"
import * as TestStore from "@plexsync/testing/TestStore"

/** A temp directory removed when the scope closes. */
export const tempDir = TestStore.tempDir("plexsync-scheduler-")

/** Every store service on a real SQLite file. */
export const storeAt = (filename: string) => storeOnFile(filename)
