// kafkajs 2.2.4 consumer (needs consumer groups: FindCoordinator, JoinGroup, SyncGroup,
// Heartbeat, OffsetFetch, LeaveGroup). Produces the dataset with gzip, then consumes it
// with a group from the beginning and, with a second group, from the middle of every
// partition (consumer.seek), verifying every record.
//
// usage: node kafkajs_group_consume.mjs --brokers HOST:PORT --topic T --seed N --n N --base-ts MS

import kafkajs from 'kafkajs'
import * as D from './dataset.mjs'

const { Kafka, CompressionTypes, logLevel } = kafkajs

const args = D.parseArgs()
const brokers = [D.need(args, 'brokers')]
const topic = D.need(args, 'topic')
const seed = Number(args.seed ?? 405)
const n = Number(args.n ?? 10000)
const baseTs = Number(D.need(args, 'base-ts'))

const kafka = new Kafka({
  clientId: 'hako-e2e-kafkajs-group',
  brokers,
  logLevel: logLevel.ERROR,
  connectionTimeout: 5000,
  requestTimeout: 30000,
  retry: { retries: 3, initialRetryTime: 100 }
})

function headersObj (headers) {
  const obj = {}
  for (const [k, v] of headers) {
    if (obj[k] === undefined) obj[k] = v
    else if (Array.isArray(obj[k])) obj[k].push(v)
    else obj[k] = [obj[k], v]
  }
  return obj
}

function headersList (obj) {
  const out = []
  for (const k of Object.keys(obj)) {
    const v = obj[k]
    if (Array.isArray(v)) for (const x of v) out.push([k, x])
    else out.push([k, v])
  }
  return out
}

async function consumeWithGroup (groupId, starts, counts) {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 })
  const got = new Map([...counts.keys()].map(p => [p, []]))
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  let seen = 0
  let done
  const finished = new Promise(resolve => { done = resolve })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let crash = null
  consumer.on(consumer.events.CRASH, e => { crash = e.payload?.error ?? e; done() })
  consumer.on(consumer.events.GROUP_JOIN, () => {
    for (const [p, o] of starts) consumer.seek({ topic, partition: p, offset: String(o) })
  })
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      const o = Number(message.offset)
      if (o < starts.get(partition)) return
      got.get(partition).push({
        offset: o,
        key: message.key,
        value: message.value,
        headers: headersList(message.headers ?? {}),
        timestamp: Number(message.timestamp)
      })
      if (++seen >= total) done()
    }
  })
  const timer = setTimeout(done, 60_000)
  await finished
  clearTimeout(timer)
  await consumer.disconnect()
  if (crash) throw new Error(`kafkajs consumer crashed: ${crash?.stack ?? crash}`)
  return got
}

D.run(async () => {
  const recs = D.makeDataset({ seed, n, baseTs, nullHeaderValues: false, groupHeadersByKey: true })
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  for (const chunk of D.sendChunks(recs)) {
    await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: chunk.map(r => ({ key: r.key, value: r.value, partition: r.partition, timestamp: String(r.timestamp), headers: headersObj(r.headers) }))
    })
  }
  await producer.disconnect()
  const parts = D.byPartition(recs)
  for (const fromMiddle of [false, true]) {
    const starts = new Map([...parts].map(([p, e]) => [p, fromMiddle ? Math.floor(e.length / 2) : 0]))
    const counts = new Map([...parts].map(([p, e]) => [p, e.length - starts.get(p)]))
    const got = await consumeWithGroup(`hako-e2e-kafkajs-${fromMiddle ? 'mid' : 'all'}-${process.pid}`, starts, counts)
    for (const [p, e] of parts) D.verifyPartition(`kafkajs group p${p} from ${starts.get(p)}`, e, got.get(p), starts.get(p))
  }
  D.result({ records: recs.length })
})
