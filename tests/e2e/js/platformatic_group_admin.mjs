// @platformatic/kafka Admin against consumer groups: listGroups (with states and types
// filters: ListGroups v5), describeGroups (v5, member subscription and assignment),
// listConsumerGroupOffsets (OffsetFetch v9, multi-group layout), deleteConsumerGroupOffsets
// (OffsetDelete: GROUP_SUBSCRIBED_TO_TOPIC while a member subscribes), deleteGroups
// (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND), removeMembersFromConsumerGroup (LeaveGroup v5 by
// member id; the member rejoins with a new id), alterConsumerGroupOffsets (OffsetCommit
// with generation -1 on an empty group).
//
// usage: node platformatic_group_admin.mjs --brokers HOST:PORT --topic T --group G

import { Admin, Consumer, MessagesStreamModes, ProduceAcks, Producer } from '@platformatic/kafka'
import * as D from './dataset.mjs'

const args = D.parseArgs()
const bootstrapBrokers = [D.need(args, 'brokers')]
const topic = D.need(args, 'topic')
const other = `${topic}-other`
const groupId = D.need(args, 'group')
const common = { bootstrapBrokers, timeout: 15000, retries: 3, retryDelay: 100 }

function errIds (e) {
  const out = []
  const walk = x => {
    if (!x) return
    if (x.apiId) out.push(x.apiId)
    for (const c of x.errors ?? []) walk(c)
  }
  walk(e)
  return [...new Set(out)]
}

async function expectError (what, id, fn) {
  try {
    await fn()
  } catch (e) {
    D.assert(errIds(e).includes(id), `${what}: expected ${id}, got ${errIds(e)} (${e.message})`)
    return
  }
  throw new Error(`${what}: expected ${id}, but it succeeded`)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function until (what, fn, ms = 20000) {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    D.assert(Date.now() < deadline, `timed out waiting for ${what}`)
    await sleep(100)
  }
}

D.run(async () => {
  const admin = new Admin({ ...common, clientId: 'hako-e2e-platformatic-group-admin' })
  await admin.createTopics({ topics: [topic, other], partitions: 2, replicas: 1 })
  const producer = new Producer({ ...common, clientId: 'hako-e2e-platformatic-group-admin' })
  await producer.send({
    acks: ProduceAcks.ALL,
    messages: Array.from({ length: 20 }, (_, i) => ({ topic, partition: i % 2, value: Buffer.from(`v${i}`) }))
  })
  await producer.close()

  const offsets = async () => {
    const [g] = await admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: [0, 1] }] }] })
    D.assertEq(g.groupId, groupId, 'listConsumerGroupOffsets group')
    return g.topics[0].partitions.map(p => [p.partitionIndex, Number(p.committedOffset)])
  }

  const consumer = new Consumer({
    ...common,
    clientId: 'hako-e2e-platformatic-group-member',
    groupId,
    autocommit: false,
    sessionTimeout: 10000,
    heartbeatInterval: 500,
    maxWaitTime: 100
  })
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false })
  let n = 0
  for await (const m of stream) {
    await m.commit()
    if (++n === 20) break
  }
  D.assertEq(await offsets(), [[0, 10], [1, 10]], 'committed offsets (live group)')
  // OffsetFetch v8+: several groups in one request
  const both = await admin.listConsumerGroupOffsets({ groups: [groupId, { groupId: `${groupId}-none`, topics: [{ name: topic, partitionIndexes: [0] }] }] })
  D.assertEq(both.map(g => [g.groupId, g.topics.map(t => [t.name, t.partitions.map(p => Number(p.committedOffset))])]),
    [[groupId, [[topic, [10, 10]]]], [`${groupId}-none`, [[topic, [-1]]]]], 'listConsumerGroupOffsets of two groups')

  const listed = await admin.listGroups({ types: ['classic'] })
  D.assertEq(listed.get(groupId), { id: groupId, state: 'STABLE', groupType: 'classic', protocolType: 'consumer' }, 'listGroups entry')
  D.assert((await admin.listGroups({ states: ['STABLE'] })).has(groupId), 'listGroups states=[STABLE]')
  D.assert(!(await admin.listGroups({ states: ['EMPTY'] })).has(groupId), 'listGroups states=[EMPTY] lists a Stable group')
  D.assert(!(await admin.listGroups({ types: ['consumer'] })).has(groupId), 'listGroups types=[consumer] lists a classic group')

  let g = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
  D.assertEq([g.state, g.protocolType, g.protocol, g.members.size], ['STABLE', 'consumer', 'roundrobin', 1], 'describeGroups (live)')
  const [memberId, member] = [...g.members][0]
  D.assertEq(member.clientId, 'hako-e2e-platformatic-group-member', 'member client id')
  D.assertEq(member.metadata.topics, [topic], 'member subscription')
  D.assertEq([...member.assignments.values()].map(a => [a.topic, a.partitions]), [[topic, [0, 1]]], 'member assignment')

  await expectError('deleteConsumerGroupOffsets of a subscribed topic', 'GROUP_SUBSCRIBED_TO_TOPIC',
    () => admin.deleteConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [0] }] }))
  await expectError('deleteGroups with a member', 'NON_EMPTY_GROUP', () => admin.deleteGroups({ groups: [groupId] }))
  await expectError('alterConsumerGroupOffsets of a live group', 'UNKNOWN_MEMBER_ID',
    () => admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 1n }] }] }))

  // An administrator removes the member; it notices on its next heartbeat and rejoins.
  await admin.removeMembersFromConsumerGroup({ groupId, members: [{ memberId, reason: 'e2e' }] })
  g = await until('the member to rejoin with a new id', async () => {
    const d = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
    return d.state === 'STABLE' && d.members.size === 1 && !d.members.has(memberId) ? d : null
  })
  await stream.close()
  await consumer.close(true)
  g = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
  D.assertEq([g.state, g.members.size], ['EMPTY', 0], 'describeGroups after the member left')

  await admin.alterConsumerGroupOffsets({
    groupId,
    topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: 4n }, { partition: 1, offset: 6n }] },
      { name: other, partitionOffsets: [{ partition: 1, offset: 1n }] }]
  })
  D.assertEq(await offsets(), [[0, 4], [1, 6]], 'offsets after alterConsumerGroupOffsets')
  await admin.deleteConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [1] }] })
  D.assertEq(await offsets(), [[0, 4], [1, -1]], 'offsets after deleteConsumerGroupOffsets')
  const [all] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
  D.assertEq(all.topics.map(t => [t.name, t.partitions.map(p => [p.partitionIndex, Number(p.committedOffset)])]).sort(),
    [[other, [[1, 1]]], [topic, [[0, 4]]]].sort(), 'listConsumerGroupOffsets of every topic')

  await admin.deleteGroups({ groups: [groupId] })
  D.assert(!(await admin.listGroups()).has(groupId), 'deleted group still listed')
  D.assertEq(await offsets(), [[0, -1], [1, -1]], 'offsets of a deleted group')
  await expectError('deleteGroups of an unknown group', 'GROUP_ID_NOT_FOUND', () => admin.deleteGroups({ groups: [groupId] }))
  await admin.close()
  D.result({ ok: true })
})
