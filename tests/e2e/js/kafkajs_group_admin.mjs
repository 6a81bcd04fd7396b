// kafkajs 2.2.4 admin against consumer groups: listGroups, describeGroups (a live member:
// Stable, its assignment; after it leaves: Empty), fetchOffsets, setOffsets and
// resetOffsets (kafkajs commits through a temporary group member), deleteGroups
// (NON_EMPTY_GROUP while a member is in, GROUP_ID_NOT_FOUND for an unknown group).
//
// usage: node kafkajs_group_admin.mjs --brokers HOST:PORT --topic T --group G

import kafkajs from 'kafkajs'
import * as D from './dataset.mjs'

const { Kafka, logLevel, AssignerProtocol } = kafkajs
const args = D.parseArgs()
const topic = D.need(args, 'topic')
const groupId = D.need(args, 'group')
const kafka = new Kafka({
  clientId: 'hako-e2e-kafkajs-group-admin',
  brokers: [D.need(args, 'brokers')],
  logLevel: logLevel.NOTHING,
  retry: { retries: 5, initialRetryTime: 100 }
})

async function expectGroupError (what, code, fn) {
  try {
    await fn()
  } catch (e) {
    const got = e.groups?.map(g => g.error?.type ?? g.errorCode) ?? [e.type ?? e.message]
    D.assertEq(got, [code], `${what}: error`)
    return
  }
  throw new Error(`${what}: expected ${code}, but it succeeded`)
}

const offsetsOf = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions
  .map(p => [p.partition, p.offset]).sort((a, b) => a[0] - b[0])

const admin = kafka.admin()

D.run(async () => {
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: Array.from({ length: 20 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })) })
  await producer.disconnect()

  // One live member that consumes everything and commits.
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let seen = 0
  let done
  const consumed = new Promise(resolve => { done = resolve })
  await consumer.run({ eachMessage: async () => { if (++seen === 20) done() } })
  await consumed
  await consumer.commitOffsets([{ topic, partition: 0, offset: '10' }, { topic, partition: 1, offset: '10' }])

  const listed = (await admin.listGroups()).groups.find(g => g.groupId === groupId)
  D.assertEq(listed, { groupId, protocolType: 'consumer' }, 'listGroups entry')
  let [g] = (await admin.describeGroups([groupId])).groups
  D.assertEq([g.errorCode, g.state, g.protocolType, g.protocol], [0, 'Stable', 'consumer', 'RoundRobinAssigner'], 'describeGroups (live)')
  D.assertEq(g.members.length, 1, 'members')
  D.assertEq(g.members[0].clientId, 'hako-e2e-kafkajs-group-admin', 'member client id')
  D.assert(/^\/127\.0\.0\.1$/.test(g.members[0].clientHost), `member client host ${g.members[0].clientHost}`)
  const assignment = AssignerProtocol.MemberAssignment.decode(g.members[0].memberAssignment)
  D.assertEq(assignment.assignment, { [topic]: [0, 1] }, 'member assignment')
  D.assertEq(await offsetsOf(), [[0, '10'], [1, '10']], 'fetchOffsets (live group)')
  await expectGroupError('deleteGroups of a group with a member', 'NON_EMPTY_GROUP', () => admin.deleteGroups([groupId]))

  await consumer.disconnect()
  ;[g] = (await admin.describeGroups([groupId])).groups
  D.assertEq([g.state, g.members.length], ['Empty', 0], 'describeGroups after the member left')

  await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '7' }] })
  D.assertEq(await offsetsOf(), [[0, '3'], [1, '7']], 'fetchOffsets after setOffsets')
  await admin.resetOffsets({ groupId, topic, earliest: true })
  const reset = (await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true }))[0].partitions
    .map(p => [p.partition, p.offset]).sort((a, b) => a[0] - b[0])
  D.assertEq(reset, [[0, '0'], [1, '0']], 'fetchOffsets (resolved) after resetOffsets earliest')

  const deleted = await admin.deleteGroups([groupId])
  D.assertEq(deleted.map(r => [r.groupId, r.errorCode]), [[groupId, 0]], 'deleteGroups')
  D.assert(!(await admin.listGroups()).groups.some(x => x.groupId === groupId), 'deleted group still listed')
  D.assertEq(await offsetsOf(), [[0, '-1'], [1, '-1']], 'offsets of a deleted group')
  await expectGroupError('deleteGroups of an unknown group', 'GROUP_ID_NOT_FOUND', () => admin.deleteGroups([`${groupId}-nope`]))
  await admin.disconnect()
  D.result({ ok: true })
})
