import { Layer } from "effect"
import * as BreakerStoreSqlite from "./BreakerStoreSqlite.js"
import * as Database from "./Database.js"
import * as DeadLetterQueueSqlite from "./DeadLetterQueueSqlite.js"
import * as KnownObjectsSqlite from "./KnownObjectsSqlite.js"
import * as NotificationOutboxSqlite from "./NotificationOutboxSqlite.js"
import * as ObjectEventsSqlite from "./ObjectEventsSqlite.js"
import * as OutageHistorySqlite from "./OutageHistorySqlite.js"
import * as ReconcileLogSqlite from "./ReconcileLogSqlite.js"
import * as RecoveryLogSqlite from "./RecoveryLogSqlite.js"
import * as SettingsSqlite from "./SettingsSqlite.js"
import * as SyncQueueSqlite from "./SyncQueueSqlite.js"
import * as SyncStateSqlite from "./SyncStateSqlite.js"

/** Every store service on the one database; `storeOnFile` gives them on a database file. */
export const StoreLive = Layer.mergeAll(
  SyncQueueSqlite.layer,
  DeadLetterQueueSqlite.layer,
  OutageHistorySqlite.layer,
  BreakerStoreSqlite.layer,
  SyncStateSqlite.layer,
  SettingsSqlite.settingsLayer,
  SettingsSqlite.processLeaseLayer,
  RecoveryLogSqlite.layer,
  ReconcileLogSqlite.layer,
  KnownObjectsSqlite.layer,
  ObjectEventsSqlite.layer,
  NotificationOutboxSqlite.layer
)

/** How the database file is opened: `Database.DatabaseOptions` without the file name. */
export type StoreFileOptions = Omit<Database.DatabaseOptions, "filename">

/**
 * Every store service on the database file `filename` (opened, or created, and migrated by `Database.layer`),
 * with `Database` and `SqlClient` kept in the context too.
 */
export const storeOnFile = (filename: string, options?: StoreFileOptions) =>
  StoreLive.pipe(Layer.provideMerge(Database.layer({ filename, ...options })))

/** What `storeOnFile` provides: every store service, `Database` and `SqlClient`. */
export type StoreServices = Layer.Layer.Success<ReturnType<typeof storeOnFile>>
