// @platformatic/kafka 1.x Consumer.consume() (needs consumer groups: FindCoordinator v4+,
// JoinGroup v6+, SyncGroup, Heartbeat, OffsetFetch v8+, LeaveGroup). Produces the
// dataset (lz4), then consumes it through a MessagesStream from the earliest offset and,
// with a second group, from the middle of every partition (mode 'manual').
//
// usage: node platformatic_group_consume.mjs --brokers HOST:PORT --topic T --seed N --n N --base-ts MS

import { Consumer, MessagesStreamModes, ProduceAcks, Producer } from '@platformatic/kafka'
import * as D from './dataset.mjs'

const args = D.parseArgs()
const bootstrapBrokers = [D.need(args, 'brokers')]
const topic = D.need(args, 'topic')
const seed = Number(args.seed ?? 506)
const n = Number(args.n ?? 10000)
const baseTs = Number(D.need(args, 'base-ts'))

async function consumeWithGroup (groupId, starts, counts) {
  const consumer = new Consumer({
    clientId: 'hako-e2e-platformatic-group',
    bootstrapBrokers,
    groupId,
    autocommit: false,
    maxWaitTime: 100,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    timeout: 15000
  })
  const got = new Map([...counts.keys()].map(p => [p, []]))
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  let seen = 0
  try {
    const manual = [...starts.values()].some(o => o > 0)
    const stream = await consumer.consume({
      topics: [topic],
      mode: manual ? MessagesStreamModes.MANUAL : MessagesStreamModes.EARLIEST,
      offsets: manual ? [...starts].map(([partition, o]) => ({ topic, partition, offset: BigInt(o) })) : undefined,
      autocommit: false
    })
    const deadline = Date.now() + 90_000
    for await (const m of stream) {
      got.get(m.partition).push({
        offset: Number(m.offset),
        key: m.key ?? null,
        value: m.value ?? null,
        headers: [...m.headers].map(([k, v]) => [k.toString('utf8'), v ?? null]),
        timestamp: Number(m.timestamp)
      })
      if (++seen >= total || Date.now() > deadline) break
    }
    await stream.close()
  } finally {
    await consumer.close(true)
  }
  return got
}

D.run(async () => {
  const recs = D.makeDataset({ seed, n, baseTs })
  const producer = new Producer({ clientId: 'hako-e2e-platformatic', bootstrapBrokers, autocreateTopics: true, timeout: 30000 })
  for (const chunk of D.sendChunks(recs)) {
    await producer.send({
      compression: 'lz4',
      acks: ProduceAcks.ALL,
      messages: chunk.map(r => ({
        topic,
        partition: r.partition,
        key: r.key,
        value: r.value,
        headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k, 'utf8'), v])),
        timestamp: BigInt(r.timestamp)
      }))
    })
  }
  await producer.close()
  const parts = D.byPartition(recs)
  for (const fromMiddle of [false, true]) {
    const starts = new Map([...parts].map(([p, e]) => [p, fromMiddle ? Math.floor(e.length / 2) : 0]))
    const counts = new Map([...parts].map(([p, e]) => [p, e.length - starts.get(p)]))
    const got = await consumeWithGroup(`hako-e2e-platformatic-${fromMiddle ? 'mid' : 'all'}-${process.pid}`, starts, counts)
    for (const [p, e] of parts) D.verifyPartition(`platformatic group p${p} from ${starts.get(p)}`, e, got.get(p), starts.get(p))
  }
  D.result({ records: recs.length })
})
