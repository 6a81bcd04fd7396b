// kafkajs 2.2.4: produce the dataset (codecs none + gzip: the only ones built in), check
// the produce response offsets and ListOffsets, then read it back group-free through
// kafkajs's own Fetch v11 request/decoder (the cluster/broker objects the consumer uses
// internally: kafkajs has no public consumer without a group), from offset 0 and from the
// middle of every partition. --dump writes the dataset for a cross-check by
// confluent-kafka in Python.
//
// usage: node kafkajs_produce_fetch.mjs --brokers HOST:PORT --topic T --seed N --n N
//                                       --base-ts MS [--dump PATH]

import kafkajs from 'kafkajs'
import * as D from './dataset.mjs'

const { Kafka, CompressionTypes, logLevel } = kafkajs

const args = D.parseArgs()
const brokers = [D.need(args, 'brokers')]
const topic = D.need(args, 'topic')
const seed = Number(args.seed ?? 404)
const n = Number(args.n ?? 10000)
const baseTs = Number(D.need(args, 'base-ts'))

const kafka = new Kafka({
  clientId: 'hako-e2e-kafkajs',
  brokers,
  logLevel: logLevel.ERROR,
  connectionTimeout: 5000,
  requestTimeout: 30000,
  retry: { retries: 3, initialRetryTime: 100 }
})

function toKafkajsHeaders (headers) {
  // headers are already grouped by key (makeDataset groupHeadersByKey), the order in
  // which kafkajs writes an object with array values.
  const obj = {}
  for (const [k, v] of headers) {
    if (obj[k] === undefined) obj[k] = v
    else if (Array.isArray(obj[k])) obj[k].push(v)
    else obj[k] = [obj[k], v]
  }
  return obj
}

function fromKafkajsHeaders (obj) {
  const out = []
  for (const k of Object.keys(obj)) {
    const v = obj[k]
    if (Array.isArray(v)) for (const x of v) out.push([k, x])
    else out.push([k, v])
  }
  return out
}

async function produce (recs, exp) {
  const producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false })
  await producer.connect()
  try {
    const codecs = [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP]]
    const parts = D.split(recs, codecs.length)
    for (let c = 0; c < codecs.length; c++) {
      const [name, codec] = codecs[c]
      const chunks = D.sendChunks(parts[c])
      for (const chunk of chunks) {
        const res = await producer.send({
          topic,
          acks: -1,
          timeout: 30000,
          compression: codec,
          messages: chunk.map(r => ({
            key: r.key,
            value: r.value,
            partition: r.partition,
            timestamp: String(r.timestamp),
            headers: toKafkajsHeaders(r.headers)
          }))
        })
        for (const pr of res) {
          D.assertEq(pr.errorCode, 0, `produce ${name} error code for partition ${pr.partition}`)
          const first = chunk.find(r => r.partition === pr.partition)
          D.assertEq(Number(pr.baseOffset), exp.get(first.index),
            `produce (${name}) base offset of partition ${pr.partition} (record ${first.index})`)
        }
      }
      D.log(`produced ${parts[c].length} records with ${name} in ${chunks.length} requests`)
    }
  } finally {
    await producer.disconnect()
  }
}

async function checkOffsets (recs) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offs = await admin.fetchTopicOffsets(topic)
    const parts = D.byPartition(recs)
    D.assertEq(offs.length, D.PARTITIONS, 'partition count from fetchTopicOffsets')
    for (const o of offs) {
      D.assertEq([Number(o.low), Number(o.high)], [0, parts.get(o.partition).length],
        `ListOffsets earliest/latest for partition ${o.partition}`)
    }
  } finally {
    await admin.disconnect()
  }
}

async function fetchBack (recs) {
  const createCluster = kafka[Object.getOwnPropertySymbols(kafka)
    .find(s => s.description === 'private:Kafka:createCluster')]
  const cluster = createCluster({ metadataMaxAge: 300000, allowAutoTopicCreation: false, isolationLevel: 1 })
  await cluster.connect()
  try {
    await cluster.addTargetTopic(topic)
    const consume = async (partition, start, count) => {
      const leaders = cluster.findLeaderForPartitions(topic, [partition])
      const nodeId = Object.keys(leaders)[0]
      D.assert(nodeId !== undefined, `no leader for partition ${partition}`)
      const broker = await cluster.findBroker({ nodeId })
      const out = []
      let offset = start
      const deadline = Date.now() + 60_000
      while (out.length < count) {
        D.assert(Date.now() < deadline, `fetched only ${out.length}/${count} records of partition ${partition} from ${start}`)
        const resp = await broker.fetch({
          replicaId: -1,
          isolationLevel: 1,
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: 10 * 1024 * 1024,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: 1024 * 1024 }] }]
        })
        D.assertEq(resp.errorCode, 0, 'Fetch top-level error code')
        const pr = resp.responses[0].partitions[0]
        D.assertEq(pr.errorCode, 0, `Fetch error code for partition ${partition} at offset ${offset}`)
        for (const m of pr.messages) {
          if (m.isControlRecord) continue
          const o = Number(m.offset)
          if (o < offset) continue // batches may start before the fetch offset
          out.push({
            offset: o,
            key: m.key,
            value: m.value,
            headers: fromKafkajsHeaders(m.headers),
            timestamp: Number(m.timestamp),
            tsType: m.batchContext.timestampType === 0 ? 'create' : 'append'
          })
        }
        if (out.length) offset = out[out.length - 1].offset + 1
      }
      return out
    }
    await D.verifyTopic('kafkajs fetch', recs, consume)
  } finally {
    await cluster.disconnect()
  }
}

D.run(async () => {
  const recs = D.makeDataset({
    seed, n, baseTs,
    nullHeaderValues: false, // kafkajs cannot encode a null header value
    groupHeadersByKey: true
  })
  if (args.dump) D.dump(args.dump, recs)
  const exp = D.expectedOffsets(recs)
  const t0 = Date.now()
  await produce(recs, exp)
  const t1 = Date.now()
  await checkOffsets(recs)
  await fetchBack(recs)
  const t2 = Date.now()
  D.log(`kafkajs: produced ${recs.length} records in ${t1 - t0} ms, verified fetch in ${t2 - t1} ms`)
  D.result({ records: recs.length, produceMs: t1 - t0, fetchMs: t2 - t1 })
})
