"""PUB/SUB semantics (prefix subscriptions, slow subscribers drop; nanomsg tests/pubsub.c
and tests/trie.c)."""

from __future__ import annotations

import pytest
from conftest import wait_connected

import nanopy


def _pubsub(nn, url, *topics, domain=nanopy.AF_SP):
    pub = nn(nanopy.NN_PUB)
    sub = nn(nanopy.NN_SUB, domain=domain)
    for t in topics:
        nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, t)
    nanopy.nn_bind(pub, url)
    nanopy.nn_connect(sub, url)
    wait_connected(pub)
    wait_connected(sub)
    return pub, sub


def _drain(sub, timeout=300):
    """Every message that arrives before a quiet period of ``timeout`` ms."""
    nanopy.nn_setsockopt(sub, nanopy.NN_SOL_SOCKET, nanopy.NN_RCVTIMEO, timeout)
    got = []
    while True:
        try:
            got.append(nanopy.nn_recv(sub))
        except nanopy.Timeout:
            return got


def _publish_then_marker(pub, bodies):
    """Send the bodies and a final b"END" marker so the receiver knows when to stop."""
    for b in bodies:
        nanopy.nn_send(pub, b)
    nanopy.nn_send(pub, b"END")


def _received_until_marker(sub):
    got = []
    while True:
        body = nanopy.nn_recv(sub)
        if body == b"END":
            return got
        got.append(body)


def test_subscribe_empty_receives_everything(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"")
    nanopy.nn_send(pub, b"0123456789012345678901234567890123456789")
    assert nanopy.nn_recv(sub) == b"0123456789012345678901234567890123456789"


def test_sub_without_subscription_receives_nothing(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr())
    nanopy.nn_send(pub, b"hello")
    assert _drain(sub) == []


def test_getsockopt_subscribe_is_enoprotoopt(nn) -> None:
    sub = nn(nanopy.NN_SUB)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_getsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE)
    assert info.value.errno == nanopy.ENOPROTOOPT


def test_pub_reaches_two_subs(nn, addr) -> None:
    url = addr()
    pub = nn(nanopy.NN_PUB)
    nanopy.nn_bind(pub, url)
    subs = [nn(nanopy.NN_SUB) for _ in range(2)]
    for s in subs:
        nanopy.nn_setsockopt(s, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
        nanopy.nn_connect(s, url)
    wait_connected(pub, 2)
    nanopy.nn_send(pub, b"broadcast")
    assert [nanopy.nn_recv(s) for s in subs] == [b"broadcast", b"broadcast"]


def test_bound_sub_receives_from_two_pubs(nn, addr) -> None:
    url = addr()
    sub = nn(nanopy.NN_SUB)
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"")
    nanopy.nn_bind(sub, url)
    pub1 = nn(nanopy.NN_PUB)
    pub2 = nn(nanopy.NN_PUB)
    nanopy.nn_connect(pub1, url)
    nanopy.nn_connect(pub2, url)
    wait_connected(sub, 2)
    wait_connected(pub1)
    wait_connected(pub2)
    nanopy.nn_send(pub1, b"from-1")
    nanopy.nn_send(pub2, b"from-2")
    assert sorted([nanopy.nn_recv(sub), nanopy.nn_recv(sub)]) == [b"from-1", b"from-2"]


def test_prefix_matching_returns_whole_message(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"news.")
    _publish_then_marker(pub, [b"news.today", b"sport.today", b"news", b"news.", b"xnews."])
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"END")
    assert _received_until_marker(sub) == [b"news.today", b"news."]


def test_overlapping_topics_deliver_message_once(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"a", b"ab", b"abc", b"END")
    _publish_then_marker(pub, [b"abcd", b"ab", b"a", b"b", b"xabc"])
    assert _received_until_marker(sub) == [b"abcd", b"ab", b"a"]


def test_binary_topics_with_nul_and_high_bytes(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"\x00\xff", b"\x80", b"END")
    _publish_then_marker(pub, [b"\x00\xff\x00data", b"\x00\xfe", b"\x80\x00", b"\x00", b"\x7f"])
    assert _received_until_marker(sub) == [b"\x00\xff\x00data", b"\x80\x00"]


def test_long_topic_prefix(nn, addr) -> None:
    topic = bytes(range(1, 36))  # 35 bytes, longer than one trie node prefix
    pub, sub = _pubsub(nn, addr(), topic, b"END")
    _publish_then_marker(pub, [topic + b"!", topic[:-1], topic])
    assert _received_until_marker(sub) == [topic + b"!", topic]


def test_many_topics_sparse_and_dense(nn, addr) -> None:
    topics = [bytes([b]) + b"k" for b in range(40, 80)]  # > 8 children under the root
    pub, sub = _pubsub(nn, addr(), *topics, b"END")
    _publish_then_marker(pub, [t + b"v" for t in topics] + [b"\x01k", b"(x"])
    assert _received_until_marker(sub) == [t + b"v" for t in topics]


def test_unsubscribe_stops_delivery(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"t", b"END")
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"t")
    _publish_then_marker(pub, [b"t1"])
    assert _received_until_marker(sub) == []


def test_subscriptions_are_refcounted(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"t", b"t", b"END")
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"t")
    _publish_then_marker(pub, [b"t-still"])
    assert _received_until_marker(sub) == [b"t-still"]
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"t")
    _publish_then_marker(pub, [b"t-gone"])
    assert _received_until_marker(sub) == []


def test_unsubscribe_shorter_topic_keeps_longer(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"ab", b"abcd", b"END")
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"ab")
    _publish_then_marker(pub, [b"abx", b"abcdx"])
    assert _received_until_marker(sub) == [b"abcdx"]


@pytest.mark.parametrize("subscribed", [[], [b"abc"], [b"a"], [b"a", b"abcd"], [b"abx"]])
def test_unsubscribe_unknown_topic_is_einval(nn, subscribed) -> None:
    sub = nn(nanopy.NN_SUB)
    for t in subscribed:
        nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, t)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"ab")
    assert info.value.errno == nanopy.EINVAL


def test_unsubscribe_empty_topic_when_not_subscribed_is_einval(nn) -> None:
    sub = nn(nanopy.NN_SUB)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"")
    assert info.value.errno == nanopy.EINVAL


def test_unsubscribe_twice_after_one_subscribe_is_einval(nn) -> None:
    sub = nn(nanopy.NN_SUB)
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"x")
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"x")
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, b"x")
    assert info.value.errno == nanopy.EINVAL


def test_str_topic_is_accepted(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), "news", "END")
    _publish_then_marker(pub, [b"news!", b"other"])
    assert _received_until_marker(sub) == [b"news!"]


def test_raw_sub_still_filters(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"yes", b"END", domain=nanopy.AF_SP_RAW)
    _publish_then_marker(pub, [b"no-1", b"yes-1", b"no-2"])
    assert _received_until_marker(sub) == [b"yes-1"]


def test_raw_sub_without_subscription_receives_nothing(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), domain=nanopy.AF_SP_RAW)
    nanopy.nn_send(pub, b"hello")
    assert _drain(sub) == []


def test_send_on_sub_is_enotsup(nn) -> None:
    sub = nn(nanopy.NN_SUB)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_send(sub, b"x")
    assert info.value.errno == nanopy.ENOTSUP


def test_recv_on_pub_is_enotsup(nn) -> None:
    pub = nn(nanopy.NN_PUB)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_recv(pub)
    assert info.value.errno == nanopy.ENOTSUP


def test_pub_send_without_subscribers_does_not_block(nn) -> None:
    pub = nn(nanopy.NN_PUB)
    nanopy.nn_setsockopt(pub, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO, 0)
    assert nanopy.nn_send(pub, b"nobody", nanopy.NN_DONTWAIT) == 6


def test_subscribe_on_non_sub_socket_is_enoprotoopt(nn) -> None:
    pub = nn(nanopy.NN_PUB)
    with pytest.raises(nanopy.NNError) as info:
        nanopy.nn_setsockopt(pub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"x")
    assert info.value.errno == nanopy.ENOPROTOOPT


def test_pythonic_subscribe_and_unsubscribe(sock, addr) -> None:
    url = addr()
    pub = sock(nanopy.PUB)
    sub = sock(nanopy.SUB)
    pub.bind(url)
    sub.connect(url)
    sub.subscribe(b"a")
    sub.subscribe("END")
    wait_connected(pub.id)
    pub.send(b"a1")
    pub.send(b"b1")
    pub.send(b"END")
    assert sub.recv() == b"a1"
    assert sub.recv() == b"END"
    sub.unsubscribe(b"a")
    pub.send(b"a2")
    pub.send(b"END")
    assert sub.recv() == b"END"


def test_pub_never_blocks_on_a_subscriber_that_does_not_read(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"")
    nanopy.nn_setsockopt(pub, nanopy.NN_SOL_SOCKET, nanopy.NN_SNDTIMEO, 100)
    payload = b"x" * 1000
    for _ in range(20000):  # 20 MB: far beyond any buffer
        nanopy.nn_send(pub, payload)
    assert nanopy.nn_recv(sub) == payload  # the subscriber still gets what fitted


def test_unsubscribe_everything_then_resubscribe(nn, addr) -> None:
    topics = [b"a", b"ab", b"abc", b"b", b"END"]
    pub, sub = _pubsub(nn, addr(), *topics)
    for t in topics[:-1]:
        nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_UNSUBSCRIBE, t)
    _publish_then_marker(pub, [b"abc", b"b"])
    assert _received_until_marker(sub) == []
    nanopy.nn_setsockopt(sub, nanopy.NN_SUB, nanopy.NN_SUB_SUBSCRIBE, b"ab")
    _publish_then_marker(pub, [b"abc", b"a", b"b"])
    assert _received_until_marker(sub) == [b"abc"]


def test_recv_many_on_sub_still_filters(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"k", b"END")
    _publish_then_marker(pub, [b"k1", b"x1", b"k2", b"x2", b"k3"])
    got: list[bytes] = []
    while b"END" not in got:
        got.extend(nanopy.recv_many(sub, 16))
    assert got == [b"k1", b"k2", b"k3", b"END"]


def test_send_many_on_pub_reaches_sub(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"")
    assert nanopy.send_many(pub, [b"m1", b"m2", b"m3"]) == 3
    assert [nanopy.nn_recv(sub) for _ in range(3)] == [b"m1", b"m2", b"m3"]


def test_message_shorter_than_topic_is_filtered(nn, addr) -> None:
    pub, sub = _pubsub(nn, addr(), b"longtopic", b"END")
    _publish_then_marker(pub, [b"long", b"", b"longtopic"])
    assert _received_until_marker(sub) == [b"longtopic"]
