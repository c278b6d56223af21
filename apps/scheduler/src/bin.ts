#!/usr/bin/env node
/** The `plexsync-scheduler` executable. */
import { main } from "./Main.js"

main(process.argv)
