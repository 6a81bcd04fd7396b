"""Idempotent producers: InitProducerId hands out ids from storage; a librdkafka producer
with enable.idempotence=true writes every record exactly once, in order."""
from __future__ import annotations

import e2e_util as U


def test_confluent_idempotent_producer(broker, topic_name):
    topic = topic_name()
    recs = U.make_dataset(seed=77, n=5000, n_large=0)
    U.confluent_produce(broker.bootstrap, topic, recs, "lz4",
                        expect_offsets=U.expected_offsets(recs),
                        **{"enable.idempotence": True, "acks": "all",
                           "max.in.flight.requests.per.connection": 5})
    U.verify_topic("idempotent", recs,
                   lambda p, s, n: U.confluent_consume(broker.bootstrap, topic, p, s, n))


def test_transactional_id_is_refused_clearly(broker, topic_name):
    from confluent_kafka import Producer, KafkaException
    import pytest
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "tx-1"})
    with pytest.raises(KafkaException):
        p.init_transactions(10)
