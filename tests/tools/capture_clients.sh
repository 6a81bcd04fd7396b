#!/usr/bin/env bash
# Re-records tests/data/captures: runs each real client through capture_proxy.py against a
# fresh broker, exercising produce (every codec), fetch, list offsets, metadata and admin.
# Run by hand when the codec or a client changes; the decoder tests read the output.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/tests/data/captures"
HAKO="${HAKO_BIN:-$ROOT/build/hako}"
BPORT=29092
mkdir -p "$OUT"
rm -f "$OUT"/*.bin

# One broker per client, advertising the proxy's port so that every connection the
# client opens (bootstrap and leader) goes through the proxy.
run() {  # run <client> <port> <command...>
  local client=$1 port=$2; shift 2
  "$HAKO" broker --listener-url tcp://127.0.0.1:$BPORT \
    --advertised-listener-url tcp://127.0.0.1:$port --silent &
  local broker=$!
  python3 "$ROOT/tests/tools/capture_proxy.py" "$port" "$BPORT" "$OUT" "$client" &
  local proxy=$!
  sleep 0.5
  "$@" || echo "capture: $client workload failed" >&2
  kill $proxy $broker 2>/dev/null || true
  wait $proxy $broker 2>/dev/null || true
}

kcat_work() {
  for z in none gzip snappy lz4 zstd; do
    printf 'k1:v1\nk2:v2\n' | kcat -b 127.0.0.1:29101 -t cap-kcat -P -K: -p 0 -z $z
  done
  kcat -b 127.0.0.1:29101 -t cap-kcat -C -p 0 -o beginning -e -q > /dev/null
  kcat -b 127.0.0.1:29101 -L > /dev/null
}
run kcat 29101 kcat_work

run confluent 29102 /usr/bin/python3 - <<'PY'
import confluent_kafka as ck
from confluent_kafka.admin import AdminClient, NewTopic, NewPartitions, ConfigResource
b = '127.0.0.1:29102'
a = AdminClient({'bootstrap.servers': b})
for f in a.create_topics([NewTopic('cap-ck', 2, 1, config={'retention.ms': '1000000'})]).values(): f.result()
for f in a.describe_configs([ConfigResource('topic', 'cap-ck')]).values(): f.result()
for f in a.alter_configs([ConfigResource('topic', 'cap-ck', set_config={'retention.ms': '2000000'})]).values(): f.result()
for f in a.create_partitions([NewPartitions('cap-ck', 3)]).values(): f.result()
for z in ['none', 'gzip', 'snappy', 'lz4', 'zstd']:
    p = ck.Producer({'bootstrap.servers': b, 'compression.type': z, 'linger.ms': 5})
    for i in range(20): p.produce('cap-ck', key=b'k%d' % i, value=b'v' * i, headers=[('h', b'x')], partition=i % 2)
    p.flush(10)
c = ck.Consumer({'bootstrap.servers': b, 'group.id': 'cap', 'enable.auto.commit': False})
c.assign([ck.TopicPartition('cap-ck', 0, ck.OFFSET_BEGINNING)])
for _ in range(5): c.poll(0.5)
c.offsets_for_times([ck.TopicPartition('cap-ck', 0, 1)], timeout=5)
c.close()
for f in a.delete_topics(['cap-ck']).values(): f.result()
PY

run kafkapython 29103 /usr/bin/python3 - <<'PY'
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic, NewPartitions, ConfigResource, ConfigResourceType
b = '127.0.0.1:29103'
a = KafkaAdminClient(bootstrap_servers=b)
a.create_topics([NewTopic('cap-kp', 2, 1, topic_configs={'retention.ms': '1000000'})])
a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, 'cap-kp')])
a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'cap-kp', configs={'retention.ms': '2000000'})])
a.create_partitions({'cap-kp': NewPartitions(3)})
for z in [None, 'gzip', 'snappy', 'lz4', 'zstd']:
    p = KafkaProducer(bootstrap_servers=b, compression_type=z)
    for i in range(20): p.send('cap-kp', key=b'k%d' % i, value=b'v' * i, headers=[('h', b'x')], partition=i % 2)
    p.flush()
    p.close()
c = KafkaConsumer(bootstrap_servers=b, consumer_timeout_ms=1500)
tp = TopicPartition('cap-kp', 0)
c.assign([tp]); c.seek_to_beginning(tp)
list(c)
c.offsets_for_times({tp: 1})
c.close()
a.delete_topics(['cap-kp'])
PY

run kafkajs 29104 node "$ROOT/tests/e2e/js/capture.mjs" kafkajs 127.0.0.1:29104
run platformatic 29105 node "$ROOT/tests/e2e/js/capture.mjs" platformatic 127.0.0.1:29105
ls "$OUT" | wc -l
