"""Guessing supplier links: a client that keeps trying invalid tokens gets none looked up for a while."""

import pytest

from services.collection import guesses


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_is_blocked_after_the_limit_and_free_again_after_the_window():
    clock = Clock()
    limit = guesses.GuessLimit(limit=3, window=60, clock=clock)
    for _ in range(2):
        limit.failed("10.0.0.7")
    assert not limit.blocked("10.0.0.7")
    limit.failed("10.0.0.7")
    assert limit.blocked("10.0.0.7")
    assert not limit.blocked("10.0.0.8")  # another client is not affected
    clock.now += 61
    assert not limit.blocked("10.0.0.7")


def test_the_limit_remembers_a_bounded_number_of_clients(monkeypatch):
    monkeypatch.setattr(guesses, "MAX_CLIENTS", 100)
    limit = guesses.GuessLimit(limit=1)
    for i in range(250):
        limit.failed(f"10.1.{i // 256}.{i % 256}")
    assert len(limit._failures) == 100
    assert limit.blocked("10.1.0.249") and not limit.blocked("10.1.0.0")


def test_the_limit_is_logged_once_when_reached(caplog):
    limit = guesses.GuessLimit(limit=2)
    with caplog.at_level("WARNING", logger=guesses.__name__):
        for _ in range(4):
            limit.failed("192.0.2.1")
    assert len([r for r in caplog.records if "192.0.2.1" in r.getMessage()]) == 1


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("203.0.113.5", None, "203.0.113.5"),
    ("203.0.113.5", "198.51.100.1", "203.0.113.5"),  # not through the local proxy: the header is the client's own
    (None, "198.51.100.1", "198.51.100.1"),  # Streamlit's None: the proxy on this machine
    ("127.0.0.1", "10.9.9.9, 198.51.100.1", "198.51.100.1"),  # what a client put first is ignored
    ("::1", "2001:db8::5", "2001:db8::5"),
    (None, None, "127.0.0.1"),
])
def test_the_client_address_trusts_only_what_the_local_proxy_appended(peer, forwarded, client):
    assert guesses.client_address(peer=peer, forwarded_for=forwarded) == client
