// Small workloads whose requests tests/tools/capture_clients.sh records for the decoder
// tests. usage: node capture.mjs kafkajs|platformatic HOST:PORT
import { Kafka, CompressionTypes } from 'kafkajs'
import { Admin, Producer } from '@platformatic/kafka'

const [which, broker] = process.argv.slice(2)

async function kafkajs () {
  const kafka = new Kafka({ clientId: 'cap', brokers: [broker], logLevel: 0 })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'cap-js', numPartitions: 2, configEntries: [{ name: 'retention.ms', value: '1000000' }] }] })
  await admin.describeConfigs({ resources: [{ type: 2, name: 'cap-js' }], includeSynonyms: false })
  await admin.createPartitions({ topicPartitions: [{ topic: 'cap-js', count: 3 }] })
  const producer = kafka.producer()
  await producer.connect()
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    await producer.send({ topic: 'cap-js', compression, messages: [{ key: 'k', value: 'v', headers: { h: 'x' }, partition: 0 }, { key: null, value: null, partition: 1 }] })
  }
  await producer.disconnect()
  await admin.fetchTopicOffsets('cap-js')
  await admin.deleteTopics({ topics: ['cap-js'] })
  await admin.disconnect()
}

async function platformatic () {
  const admin = new Admin({ clientId: 'cap', bootstrapBrokers: [broker] })
  await admin.createTopics({ topics: ['cap-pf'], partitions: 2, replicas: 1 })
  await admin.metadata({ topics: ['cap-pf'] })
  const producer = new Producer({ clientId: 'cap', bootstrapBrokers: [broker] })
  for (const compression of ['none', 'gzip', 'snappy', 'lz4']) {
    await producer.send({ messages: [{ topic: 'cap-pf', key: Buffer.from('k'), value: Buffer.from('v'), headers: new Map([[Buffer.from('h'), Buffer.from('x')]]), partition: 0 }], compression })
  }
  await producer.close()
  await admin.deleteTopics({ topics: ['cap-pf'] })
  await admin.close()
}

await (which === 'kafkajs' ? kafkajs() : platformatic())
