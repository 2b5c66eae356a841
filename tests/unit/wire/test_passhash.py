"""The ``[[api.user]] password_hash`` string: scrypt (RFC 7914) with its parameters, salt and key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bootwright.wire import DecodeError
from bootwright.wire.passhash import DEFAULT_N, DUMMY, PasswordHash

SALT = bytes(range(16))


def test_rfc_7914_test_vector() -> None:
    # RFC 7914 §12: scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64).
    key = bytes.fromhex(
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
    )
    assert PasswordHash(1024, 8, 16, b"NaCl", key).verify("password")
    assert not PasswordHash(1024, 8, 16, b"NaCl", key).verify("Password")


def test_make_encode_decode_verify() -> None:
    made = PasswordHash.make("correct horse", SALT, n=1024)
    text = made.encode()
    assert text.startswith("scrypt$1024$8$1$") and "=" not in text and text.count("$") == 5
    again = PasswordHash.decode(text)
    assert again == made and again.verify("correct horse") and not again.verify("correct horse ")
    assert PasswordHash.make("x" * 8, SALT).n == DEFAULT_N


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=8, max_size=64), st.binary(min_size=16, max_size=64), st.sampled_from([1024, 2048]))
def test_every_decoded_hash_encodes_back(salt: bytes, key: bytes, n: int) -> None:
    h = PasswordHash(n, 8, 1, salt, key)
    assert PasswordHash.decode(h.encode()) == h


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("hunter2", "of the form"),
        ("bcrypt$1024$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "of the form"),
        ("scrypt$1000$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "power of two"),
        ("scrypt$2097152$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "power of two"),
        ("scrypt$1024$x$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "r ('x')"),
        ("scrypt$1024$8$99$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "p (99)"),
        ("scrypt$1048576$32$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "MiB"),
        ("scrypt$1024$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA", "salt has 3 octets"),
        ("scrypt$1024$8$1$AA!AAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "salt is not base64"),
        ("scrypt$1024$8$1$AAAAAAAAAAA$AAAA", "derived key has 3"),
        ("scrypt$1024$8$1$AAAAAAAAAAA$AAAAA", "derived key is not base64"),
    ],
)
def test_bad_hashes_say_which_field(text: str, says: str) -> None:
    with pytest.raises(DecodeError, match=None) as info:
        PasswordHash.decode(text)
    assert says in str(info.value), str(info.value)


def test_make_refuses_parameters_a_config_could_not_hold() -> None:
    with pytest.raises(ValueError, match="power of two"):
        PasswordHash.make("password", SALT, n=100)
    with pytest.raises(ValueError, match="salt"):
        PasswordHash.make("password", b"short")


def test_the_dummy_matches_nothing_at_the_default_cost() -> None:
    assert DUMMY.n == DEFAULT_N and not DUMMY.verify("") and not DUMMY.verify("password")
