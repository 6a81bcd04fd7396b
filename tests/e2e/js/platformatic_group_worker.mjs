// One @platformatic/kafka consumer-group member in its own process (see
// tests/e2e/group_worker.py for the event log and the at-least-once discipline: a message
// is logged before its offset is committed). SIGTERM: close (LeaveGroup) and exit 0.
//
// usage: node platformatic_group_worker.mjs --brokers HOST:PORT --topic T --group G --out FILE
//        [--session-ms 6000] [--delay-ms 0]

import { Consumer, MessagesStreamModes } from '@platformatic/kafka'
import * as D from './dataset.mjs'
import { eventLog, sleep, stopSignal } from './group_worker_log.mjs'

const args = D.parseArgs()
const topic = D.need(args, 'topic')
const sessionTimeout = Number(args['session-ms'] ?? 6000)
const delayMs = Number(args['delay-ms'] ?? 0)
const log = eventLog(D.need(args, 'out'))

D.run(async () => {
  const consumer = new Consumer({
    clientId: 'hako-e2e-platformatic-worker',
    bootstrapBrokers: [D.need(args, 'brokers')],
    groupId: D.need(args, 'group'),
    autocommit: false,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 6)),
    rebalanceTimeout: 30000,
    maxWaitTime: 100,
    maxBytesPerPartition: 16384,
    timeout: 15000,
    retries: 20,
    retryDelay: 200
  })
  let owned = []
  consumer.on('consumer:group:join', e => {
    const parts = (e.assignments ?? []).filter(a => a.topic === topic)
      .flatMap(a => a.partitions).sort((a, b) => a - b)
    if (owned.length) log({ ev: 'revoked', parts: owned })
    owned = parts
    log({ ev: 'assigned', parts })
  })
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamModes.EARLIEST,
    autocommit: false,
    highWaterMark: 64 // little read-ahead: what it holds is re-read after a rebalance
  })
  // Commit the logged positions every 200 ms (and every 500 messages): log first, then
  // commit, so a kill -9 repeats at most what was logged since the last commit.
  const pending = new Map()
  const latest = new Map() // every partition's last logged position, for the final commit
  let inflight = null
  let sinceFlush = 0
  const flush = async () => {
    while (inflight) await inflight
    if (!pending.size) return
    // Only partitions still owned: a late commit for a partition that moved would overwrite
    // its new owner's progress (the classic protocol does not check ownership).
    const offsets = [...pending].filter(([partition]) => owned.includes(partition))
      .map(([partition, p]) => ({ topic, partition, ...p }))
    pending.clear()
    sinceFlush = 0
    if (!offsets.length) return
    inflight = consumer.commit({ offsets })
      .then(() => true)
      .catch(e => {
        log({ ev: 'commit_failed', error: String(e) })
        // A commit refused while the group rebalances (REBALANCE_IN_PROGRESS, as in Kafka)
        // is tried again at the next flush unless a newer position replaced it: otherwise a
        // partition that has no more records keeps its last position uncommitted.
        for (const o of offsets) {
          if (!pending.has(o.partition)) pending.set(o.partition, { offset: o.offset, leaderEpoch: o.leaderEpoch })
        }
        return false
      })
      .finally(() => { inflight = null })
    return await inflight
  }
  const timer = setInterval(flush, 200)
  // SIGTERM: commit what was logged, then close the stream. (The last commit used to follow
  // stream.close(), which stops tracking the topic and so can send the consumer back into
  // a rebalance; once in CI that commit was lost and a partition's final position stayed
  // uncommitted.) Nothing is logged once stopping is set, so everything logged is in
  // `pending` for that commit.
  let stopping = false
  const stopped = stopSignal().then(async () => {
    stopping = true
    // Every owned partition's last position, not only those logged since the last flush:
    // a commit lost around a rebalance would otherwise never be repeated for a partition
    // that has no more records (seen in CI: all records read, one offset left short).
    for (const [partition, p] of latest) if (!pending.has(partition)) pending.set(partition, p)
    // Until the commit is taken (a rebalance may be completing right now), for up to 10 s.
    for (let i = 0; i < 50 && await flush() === false; i++) await sleep(200)
    stream.close()
  })
  for await (const m of stream) {
    // The stream still hands out what it fetched before a rebalance took the partition
    // away; its new owner reads that from the committed offset.
    if (!owned.includes(m.partition)) continue
    if (delayMs) await sleep(delayMs)
    if (stopping) break
    log({ ev: 'recs', p: m.partition, o: [Number(m.offset)] })
    const position = { offset: m.offset + 1n, leaderEpoch: m.leaderEpoch ?? -1 }
    pending.set(m.partition, position)
    latest.set(m.partition, position)
    if (++sinceFlush >= 500) await flush()
  }
  clearInterval(timer)
  await stopped
  await flush()
  await consumer.close(true)
  log({ ev: 'closed' })
}, 600_000)
