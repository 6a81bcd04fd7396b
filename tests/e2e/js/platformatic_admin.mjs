// @platformatic/kafka 1.x Admin: CreateTopics v7 (configs + topic id in the response),
// Metadata, DescribeConfigs, IncrementalAlterConfigs, AlterConfigs, CreatePartitions,
// DeleteTopics v6, and their error cases.
//
// usage: node platformatic_admin.mjs --brokers HOST:PORT --topic T

import { Admin, ConfigResourceTypes, IncrementalAlterConfigOperationTypes as Op } from '@platformatic/kafka'
import * as D from './dataset.mjs'

const args = D.parseArgs()
const bootstrapBrokers = [D.need(args, 'brokers')]
const topic = D.need(args, 'topic')

const DYNAMIC_TOPIC_CONFIG = 1
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

function errId (e) {
  if (typeof e?.findBy === 'function') {
    for (const id of ['TOPIC_ALREADY_EXISTS', 'INVALID_PARTITIONS', 'UNKNOWN_TOPIC_OR_PARTITION']) {
      if (e.findBy('apiId', id)) return id
    }
  }
  return e?.apiId ?? e?.errors?.[0]?.apiId ?? `${e?.code}: ${e?.message}`
}

async function expectError (what, id, fn) {
  try {
    await fn()
  } catch (e) {
    D.assertEq(errId(e), id, `${what}: error`)
    return
  }
  throw new Error(`${what}: expected ${id}, but it succeeded`)
}

async function configs (admin) {
  const res = await admin.describeConfigs({
    resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }]
  })
  D.assertEq(res.length, 1, 'DescribeConfigs results')
  D.assertEq(res[0].resourceName, topic, 'DescribeConfigs resource name')
  return new Map(res[0].configs.map(c => [c.name, c]))
}

async function partitions (admin) {
  const md = await admin.metadata({ topics: [topic], forceUpdate: true })
  return md.topics.get(topic)?.partitionsCount
}

D.run(async () => {
  const admin = new Admin({
    clientId: 'hako-e2e-platformatic-admin',
    bootstrapBrokers,
    timeout: 15000,
    retries: 1,
    retryDelay: 100
  })
  try {
    const created = await admin.createTopics({
      topics: [topic],
      partitions: 2,
      replicas: 1,
      configs: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'delete' }]
    })
    D.assertEq(created.length, 1, 'CreateTopics results')
    D.assertEq([created[0].name, created[0].partitions], [topic, 2], 'CreateTopics v7 result')
    D.assert(created[0].id && created[0].id !== ZERO_UUID, `CreateTopics v7 must return a topic id, got ${created[0].id}`)
    D.assertEq(created[0].configuration?.['retention.ms'], '3600000', 'CreateTopics v7 returned configs: retention.ms')

    await expectError('CreateTopics of an existing topic', 'TOPIC_ALREADY_EXISTS',
      () => admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 }))

    D.assert((await admin.listTopics()).includes(topic), 'listTopics includes the new topic')
    D.assertEq(await partitions(admin), 2, 'partitions after create')
    const md = await admin.metadata({ topics: [topic] })
    D.assertEq(md.topics.get(topic).id, created[0].id, 'Metadata topic id == CreateTopics topic id')

    let cfg = await configs(admin)
    D.assertEq(cfg.get('retention.ms')?.value, '3600000', 'retention.ms')
    D.assertEq(cfg.get('retention.ms')?.configSource, DYNAMIC_TOPIC_CONFIG, 'retention.ms source')
    D.assertEq(cfg.get('max.message.bytes')?.value, String(D.MAX_MESSAGE_BYTES), 'default max.message.bytes')

    // IncrementalAlterConfigs: SET two, DELETE one; then SET another: earlier overrides stay.
    await admin.incrementalAlterConfigs({
      resources: [{
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: topic,
        configs: [
          { name: 'retention.ms', configOperation: Op.SET, value: '7200000' },
          { name: 'max.message.bytes', configOperation: Op.SET, value: '2000000' },
          { name: 'cleanup.policy', configOperation: Op.DELETE }
        ]
      }]
    })
    cfg = await configs(admin)
    D.assertEq(cfg.get('retention.ms')?.value, '7200000', 'retention.ms after incremental SET')
    D.assertEq(cfg.get('max.message.bytes')?.value, '2000000', 'max.message.bytes after incremental SET')
    D.assertEq(cfg.get('cleanup.policy')?.value, 'delete', 'cleanup.policy after incremental DELETE')
    D.assert(cfg.get('cleanup.policy')?.configSource !== DYNAMIC_TOPIC_CONFIG, 'cleanup.policy override removed')
    await admin.incrementalAlterConfigs({
      resources: [{
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: topic,
        configs: [{ name: 'retention.bytes', configOperation: Op.SET, value: '1073741824' }]
      }]
    })
    cfg = await configs(admin)
    D.assertEq(cfg.get('retention.bytes')?.value, '1073741824', 'retention.bytes after incremental SET')
    D.assertEq(cfg.get('retention.ms')?.value, '7200000', 'retention.ms kept by a later incremental alter')

    // AlterConfigs (non-incremental) replaces the whole set of overrides.
    await admin.alterConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configs: [{ name: 'retention.ms', value: '1800000' }] }]
    })
    cfg = await configs(admin)
    D.assertEq(cfg.get('retention.ms')?.value, '1800000', 'retention.ms after AlterConfigs')
    D.assertEq(cfg.get('max.message.bytes')?.value, String(D.MAX_MESSAGE_BYTES), 'max.message.bytes back to default after AlterConfigs')
    D.assert(cfg.get('retention.bytes')?.configSource !== DYNAMIC_TOPIC_CONFIG, 'retention.bytes override removed by AlterConfigs')

    await admin.createPartitions({ topics: [{ name: topic, count: 4 }] })
    D.assertEq(await partitions(admin), 4, 'partitions after CreatePartitions')
    await expectError('CreatePartitions 4 -> 2', 'INVALID_PARTITIONS',
      () => admin.createPartitions({ topics: [{ name: topic, count: 2 }] }))

    await admin.deleteTopics({ topics: [topic] })
    const deadline = Date.now() + 10_000
    while ((await admin.listTopics()).includes(topic)) {
      if (Date.now() > deadline) throw new Error('deleted topic still listed after 10 s')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    await expectError('DeleteTopics of a deleted topic', 'UNKNOWN_TOPIC_OR_PARTITION',
      () => admin.deleteTopics({ topics: [topic] }))
    await expectError('DescribeConfigs of a deleted topic', 'UNKNOWN_TOPIC_OR_PARTITION', () => configs(admin))
  } finally {
    await admin.close()
  }
  D.result({ ok: true })
})
