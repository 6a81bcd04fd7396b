// kafkajs 2.2.4 admin: CreateTopics (with configs), Metadata, DescribeConfigs,
// AlterConfigs, CreatePartitions, ListOffsets, DeleteTopics, and their error cases.
//
// usage: node kafkajs_admin.mjs --brokers HOST:PORT --topic T

import kafkajs from 'kafkajs'
import * as D from './dataset.mjs'

const { Kafka, ConfigResourceTypes, logLevel } = kafkajs

const args = D.parseArgs()
const brokers = [D.need(args, 'brokers')]
const topic = D.need(args, 'topic')

const kafka = new Kafka({
  clientId: 'hako-e2e-kafkajs-admin',
  brokers,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 0 }
})

const DYNAMIC_TOPIC_CONFIG = 1

function errType (e) {
  return e?.type ?? e?.originalError?.type ?? e?.errors?.[0]?.type ?? e?.cause?.type ?? String(e)
}

async function expectError (what, type, fn) {
  try {
    await fn()
  } catch (e) {
    D.assertEq(errType(e), type, `${what}: error type`)
    return
  }
  throw new Error(`${what}: expected ${type}, but it succeeded`)
}

async function configs (admin) {
  const res = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    includeSynonyms: false
  })
  D.assertEq(res.resources.length, 1, 'DescribeConfigs resources')
  const r = res.resources[0]
  D.assertEq([r.errorCode, r.resourceName], [0, topic], 'DescribeConfigs result')
  return new Map(r.configEntries.map(e => [e.configName, e]))
}

async function waitFor (what, cond, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

D.run(async () => {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const spec = {
      topic,
      numPartitions: 2,
      replicationFactor: 1,
      configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'delete' }]
    }
    D.assertEq(await admin.createTopics({ topics: [spec], waitForLeaders: true, timeout: 10000 }), true, 'createTopics')
    D.assertEq(await admin.createTopics({ topics: [spec], waitForLeaders: false, timeout: 10000 }), false,
      'createTopics of an existing topic (TOPIC_ALREADY_EXISTS)')
    D.assert((await admin.listTopics()).includes(topic), 'listTopics includes the new topic')

    let md = await admin.fetchTopicMetadata({ topics: [topic] })
    D.assertEq(md.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1], 'partitions after create')

    let cfg = await configs(admin)
    D.assertEq(cfg.get('retention.ms')?.configValue, '3600000', 'retention.ms')
    D.assertEq(cfg.get('retention.ms')?.configSource, DYNAMIC_TOPIC_CONFIG, 'retention.ms source')
    D.assertEq(cfg.get('cleanup.policy')?.configValue, 'delete', 'cleanup.policy')
    D.assertEq(cfg.get('max.message.bytes')?.configValue, String(D.MAX_MESSAGE_BYTES), 'default max.message.bytes')

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: topic,
        configEntries: [{ name: 'retention.ms', value: '7200000' }, { name: 'max.message.bytes', value: '2000000' }]
      }]
    })
    cfg = await configs(admin)
    D.assertEq(cfg.get('retention.ms')?.configValue, '7200000', 'retention.ms after AlterConfigs')
    D.assertEq(cfg.get('max.message.bytes')?.configValue, '2000000', 'max.message.bytes after AlterConfigs')
    D.assertEq(cfg.get('cleanup.policy')?.configValue, 'delete', 'cleanup.policy after AlterConfigs')
    D.assert(cfg.get('cleanup.policy')?.configSource !== DYNAMIC_TOPIC_CONFIG,
      'AlterConfigs must replace the whole set of overrides (cleanup.policy back to default)')

    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }], timeout: 10000 })
    md = await admin.fetchTopicMetadata({ topics: [topic] })
    D.assertEq(md.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2, 3], 'partitions after CreatePartitions')
    await expectError('CreatePartitions 4 -> 2', 'INVALID_PARTITIONS',
      () => admin.createPartitions({ topicPartitions: [{ topic, count: 2 }], timeout: 10000 }))

    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const res = await producer.send({ topic, acks: -1, messages: [{ partition: 3, key: 'k', value: 'v' }] })
    await producer.disconnect()
    D.assertEq([res[0].partition, Number(res[0].baseOffset)], [3, 0], 'produce to the new partition')
    const offs = await admin.fetchTopicOffsets(topic)
    D.assertEq(offs.map(o => [o.partition, Number(o.low), Number(o.high)]).sort(),
      [[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 1]], 'ListOffsets after producing to partition 3')

    await admin.deleteTopics({ topics: [topic], timeout: 10000 })
    await waitFor('the deleted topic to leave Metadata', async () => !(await admin.listTopics()).includes(topic))
    await expectError('DeleteTopics of a deleted topic', 'UNKNOWN_TOPIC_OR_PARTITION',
      () => admin.deleteTopics({ topics: [topic], timeout: 10000 }))
    await expectError('DescribeConfigs of a deleted topic', 'UNKNOWN_TOPIC_OR_PARTITION', () => configs(admin))
  } finally {
    await admin.disconnect()
  }
  D.result({ ok: true })
})
