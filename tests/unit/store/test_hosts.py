"""The host tables behind the HostStore Protocol: atomic transactions, a distinct NotFound."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bootwright.model import HostRow, OneShotRow
from bootwright.store.base import HostStore, HostTransaction, NotFound, StoreError
from bootwright.store.sqlite import SqliteStore


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[HostStore]:
    store = SqliteStore(tmp_path / "state.db")
    store.open()
    try:
        yield store.host_store()
    finally:
        store.close()


def test_a_missing_host_is_not_found_not_a_store_error(hosts: HostStore) -> None:
    def look(tx: HostTransaction) -> HostRow:
        return tx.host("nobody")

    with pytest.raises(NotFound) as caught:
        hosts.transact(look)
    assert not isinstance(caught.value, StoreError)


def test_rows_round_trip_and_a_failed_transaction_writes_nothing(hosts: HostStore) -> None:
    row = HostRow("web1", "local", {"name": "web1", "mac": ["52:54:00:00:00:01"]}, {}, 1.0)

    def add(tx: HostTransaction) -> int:
        tx.put_host(row)
        tx.put_oneshot(OneShotRow("web1", "rescue", "pending", 1.0, 1.0, {}))
        return tx.bump_generation()

    assert hosts.transact(add) == 1
    assert hosts.transact(lambda tx: tx.host("web1")) == row

    def add_then_fail(tx: HostTransaction) -> None:
        tx.put_host(HostRow("web2", "local", {"name": "web2"}, {}, 2.0))
        tx.delete_host("web1")
        tx.bump_generation()
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        hosts.transact(add_then_fail)
    assert [r.name for r in hosts.transact(lambda tx: tx.hosts())] == ["web1"]
    assert [s.target for s in hosts.transact(lambda tx: tx.oneshots())] == ["rescue"]
    assert hosts.transact(lambda tx: tx.generation()) == 1
