// The event log the group worker scripts write (same format as tests/e2e/group_worker.py):
// one JSON object per line, appended synchronously so a kill -9 loses nothing written.

import { appendFileSync } from 'node:fs'

export function eventLog (path) {
  return ev => appendFileSync(path, JSON.stringify({ ...ev, t: Date.now() / 1000 }) + '\n')
}

export const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// Resolves on SIGTERM/SIGINT.
export function stopSignal () {
  return new Promise(resolve => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
}
