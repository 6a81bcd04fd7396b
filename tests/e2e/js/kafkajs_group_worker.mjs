// One kafkajs 2.2.4 consumer-group member in its own process (see tests/e2e/group_worker.py
// for the event log and the at-least-once discipline: a batch is logged before its offsets
// are committed). SIGTERM: disconnect (LeaveGroup) and exit 0.
//
// usage: node kafkajs_group_worker.mjs --brokers HOST:PORT --topic T --group G --out FILE
//        [--session-ms 6000] [--delay-ms 0]

import kafkajs from 'kafkajs'
import * as D from './dataset.mjs'
import { eventLog, sleep, stopSignal } from './group_worker_log.mjs'

const { Kafka, logLevel } = kafkajs
const args = D.parseArgs()
const topic = D.need(args, 'topic')
const sessionTimeout = Number(args['session-ms'] ?? 6000)
const delayMs = Number(args['delay-ms'] ?? 0)
const log = eventLog(D.need(args, 'out'))

const kafka = new Kafka({
  clientId: 'hako-e2e-kafkajs-worker',
  brokers: [D.need(args, 'brokers')],
  logLevel: logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100 }
})

D.run(async () => {
  const consumer = kafka.consumer({
    groupId: D.need(args, 'group'),
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 6)),
    rebalanceTimeout: 30000,
    maxWaitTimeInMs: 100
  })
  // kafkajs rebalances eagerly: every join replaces the whole assignment.
  let owned = []
  consumer.on(consumer.events.GROUP_JOIN, e => {
    const parts = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b)
    if (owned.length) log({ ev: 'revoked', parts: owned })
    owned = parts
    log({ ev: 'assigned', parts })
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      // In slices, heartbeating in between: kafkajs heartbeats only from here while a
      // batch is being processed.
      for (let i = 0; i < batch.messages.length; i += 50) {
        if (!isRunning() || isStale()) return
        const offsets = batch.messages.slice(i, i + 50).map(m => Number(m.offset))
        if (delayMs) await sleep(delayMs * offsets.length)
        log({ ev: 'recs', p: batch.partition, o: offsets })
        const last = offsets[offsets.length - 1]
        try {
          await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(last + 1) }])
        } catch (e) {
          log({ ev: 'commit_failed', error: String(e) })
        }
        resolveOffset(String(last))
        await heartbeat()
      }
    }
  })
  await stopSignal()
  await consumer.disconnect()
  log({ ev: 'closed' })
}, 600_000)
