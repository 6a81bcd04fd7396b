// @platformatic/kafka 1.x: produce the dataset with every codec it supports on this Node
// (none, gzip, snappy, lz4; zstd only where node:zlib has zstd), check the produce
// response offsets and ListOffsets, then read everything back group-free with
// Consumer.fetch() (a public API: one Fetch request to a given broker) from offset 0 and
// from the middle of every partition. --dump writes the dataset for a cross-check by
// confluent-kafka in Python.
//
// usage: node platformatic_produce_fetch.mjs --brokers HOST:PORT --topic T --seed N --n N
//                                            --base-ts MS [--dump PATH]

import { Consumer, IS_CONTROL, ListOffsetTimestamps, ProduceAcks, Producer, compressionsAlgorithms, kGetApi } from '@platformatic/kafka'
import * as D from './dataset.mjs'

const args = D.parseArgs()
const bootstrapBrokers = [D.need(args, 'brokers')]
const topic = D.need(args, 'topic')
const seed = Number(args.seed ?? 505)
const n = Number(args.n ?? 10000)
const baseTs = Number(D.need(args, 'base-ts'))

const common = { bootstrapBrokers, timeout: 30000, retries: 3, retryDelay: 200 }

const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].filter(c => compressionsAlgorithms[c].available)
const skippedCodecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].filter(c => !codecs.includes(c))

async function produce (recs, exp) {
  const producer = new Producer({ ...common, clientId: 'hako-e2e-platformatic', autocreateTopics: true, acks: ProduceAcks.ALL })
  try {
    const parts = D.split(recs, codecs.length)
    for (let c = 0; c < codecs.length; c++) {
      const chunks = D.sendChunks(parts[c])
      for (const chunk of chunks) {
        const res = await producer.send({
          compression: codecs[c],
          acks: ProduceAcks.ALL,
          messages: chunk.map(r => ({
            topic,
            partition: r.partition,
            key: r.key,
            value: r.value,
            // distinct Buffer objects as keys: duplicate header names survive the Map
            headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k, 'utf8'), v])),
            timestamp: BigInt(r.timestamp)
          }))
        })
        const seen = new Set()
        for (const o of res.offsets ?? []) {
          D.assertEq(o.topic, topic, 'produce result topic')
          const first = chunk.find(r => r.partition === o.partition)
          D.assertEq(Number(o.offset), exp.get(first.index),
            `produce (${codecs[c]}) base offset of partition ${o.partition} (record ${first.index})`)
          seen.add(o.partition)
        }
        D.assertEq([...seen].sort(), [...new Set(chunk.map(r => r.partition))].sort(), 'partitions in produce result')
      }
      D.log(`produced ${parts[c].length} records with ${codecs[c]} in ${chunks.length} requests`)
    }
  } finally {
    await producer.close()
  }
}

function getApi (client, name) {
  return new Promise((resolve, reject) => client[kGetApi](name, (e, api) => (e ? reject(e) : resolve(api))))
}

async function fetchBack (recs) {
  const consumer = new Consumer({
    ...common,
    clientId: 'hako-e2e-platformatic-fetch',
    groupId: 'hako-e2e-unused', // required by the constructor; fetch() never uses it
    autocommit: false,
    maxWaitTime: 100,
    minBytes: 1,
    maxBytes: 10 * 1024 * 1024
  })
  const info = {}
  try {
    const parts = D.byPartition(recs)
    const latest = await consumer.listOffsets({ topics: [topic] })
    D.assertEq(latest.get(topic).map(Number), [...parts.values()].map(e => e.length), 'ListOffsets latest')
    const earliest = await consumer.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST })
    D.assertEq(earliest.get(topic).map(Number), [...parts.values()].map(() => 0), 'ListOffsets earliest')

    const md = await consumer.metadata({ topics: [topic] })
    const tmd = md.topics.get(topic)
    D.assert(tmd && tmd.partitionsCount === D.PARTITIONS, `metadata for ${topic}: ${JSON.stringify(tmd)}`)
    D.assert(/^[0-9a-f-]{36}$/.test(tmd.id) && tmd.id !== '00000000-0000-0000-0000-000000000000',
      `Metadata v10+ must give the topic a non-zero topic id, got ${tmd.id}`)
    const fetchApi = await getApi(consumer, 'Fetch')
    info.fetchVersion = fetchApi.version
    // platformatic's Fetch v12 writes FetchRequestTopic.topicId as the topic *name*
    // (v12 has names); v13+ take the topic id.
    const topicRef = fetchApi.version >= 13 ? tmd.id : topic

    const consume = async (partition, start, count) => {
      const leader = tmd.partitions[partition].leader
      const out = []
      let offset = start
      const deadline = Date.now() + 60_000
      while (out.length < count) {
        D.assert(Date.now() < deadline, `fetched only ${out.length}/${count} records of partition ${partition} from ${start}`)
        const resp = await consumer.fetch({
          node: leader,
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: 10 * 1024 * 1024,
          isolationLevel: 1,
          topics: [{
            topicId: topicRef,
            partitions: [{ partition, fetchOffset: BigInt(offset), partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1, lastFetchedEpoch: -1 }]
          }]
        })
        D.assertEq(resp.errorCode, 0, 'Fetch top-level error')
        D.assertEq(resp.responses.length, 1, 'Fetch responses')
        const pr = resp.responses[0].partitions[0]
        D.assertEq([pr.partitionIndex, pr.errorCode], [partition, 0], `Fetch partition result at offset ${offset}`)
        D.assertEq(Number(pr.highWatermark), D.byPartition(recs).get(partition).length, 'Fetch high watermark')
        for (const batch of pr.records ?? []) {
          if (batch.attributes & IS_CONTROL) continue
          D.assertEq(batch.magic, 2, 'record batch magic')
          for (const rec of batch.records) {
            const o = Number(batch.firstOffset) + rec.offsetDelta
            if (o < offset) continue
            out.push({
              offset: o,
              key: rec.key,
              value: rec.value,
              headers: rec.headers.map(([k, v]) => [k.toString('utf8'), v]),
              timestamp: Number(batch.firstTimestamp + rec.timestampDelta),
              tsType: batch.attributes & 0x08 ? 'append' : 'create'
            })
          }
        }
        if (out.length) offset = out[out.length - 1].offset + 1
      }
      return out
    }
    await D.verifyTopic('platformatic fetch', recs, consume)
  } finally {
    await consumer.close()
  }
  return info
}

D.run(async () => {
  const recs = D.makeDataset({ seed, n, baseTs })
  if (args.dump) D.dump(args.dump, recs)
  const exp = D.expectedOffsets(recs)
  const t0 = Date.now()
  await produce(recs, exp)
  const t1 = Date.now()
  const info = await fetchBack(recs)
  const t2 = Date.now()
  D.log(`platformatic: codecs ${codecs.join(',')} (not available here: ${skippedCodecs.join(',') || 'none'}); ` +
    `Fetch v${info.fetchVersion}; produced ${recs.length} records in ${t1 - t0} ms, verified fetch in ${t2 - t1} ms`)
  D.result({ records: recs.length, codecs, skippedCodecs, fetchVersion: info.fetchVersion, produceMs: t1 - t0, fetchMs: t2 - t1 })
})
