from __future__ import annotations

import base64
import os
import stat
import time

import pytest

from api.crypto import (
    IdKeyError,
    IdProtector,
    generate_key,
    load_id_key,
    mask_id_number,
    parse_key,
)

ID = "61062319900101123X"


def test_round_trip_and_forms(protector):
    stored = protector.protect(ID)
    assert protector.decrypt(stored.cipher) == ID
    assert stored.masked == "6106**********123X"
    assert len(stored.hash) == 64
    assert ID.encode() not in stored.cipher
    # Random nonce: the same number encrypts differently each time, but hashes the same.
    again = protector.protect(ID)
    assert again.cipher != stored.cipher
    assert again.hash == stored.hash


def test_hash_ignores_case_of_check_character(protector):
    assert protector.fingerprint(ID.lower()) == protector.fingerprint(ID)


def test_keys_are_separate(protector, id_key):
    other = IdProtector(os.urandom(32))
    assert other.fingerprint(ID) != protector.fingerprint(ID)
    with pytest.raises(IdKeyError, match="密钥"):
        other.decrypt(protector.encrypt(ID))
    # The HMAC key is derived, not the master key itself.
    import hashlib
    import hmac

    assert (
        protector.fingerprint(ID)
        != hmac.new(parse_key(id_key), ID.encode(), hashlib.sha256).hexdigest()
    )


def test_tampered_cipher_is_refused(protector):
    blob = bytearray(protector.encrypt(ID))
    blob[-1] ^= 1
    with pytest.raises(IdKeyError):
        protector.decrypt(bytes(blob))


def test_protect_many_matches_protect(protector):
    ids = [ID, "630222198505050012", "522201197012120021"]
    ciphers, hashes, masked = protector.protect_many(ids)
    assert [protector.decrypt(c) for c in ciphers] == ids
    assert hashes == [protector.fingerprint(i) for i in ids]
    assert masked == [mask_id_number(i) for i in ids]
    assert len({c[:12] for c in ciphers}) == 3  # distinct nonces


def test_protect_many_is_fast(protector):
    ids = [f"6106231990010{i:05d}" for i in range(50_000)]
    start = time.perf_counter()
    protector.protect_many(ids)
    # 1,000,000 rows in a few seconds means 50,000 well under one (generous for a shared CI box).
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    ("text", "message"),
    [("not base64!", "base64"), (base64.b64encode(b"short").decode(), "5 字节")],
)
def test_parse_key_rejects(text, message):
    with pytest.raises(IdKeyError, match=message):
        parse_key(text)


def test_generate_key_parses():
    assert len(parse_key(generate_key())) == 32


def test_load_id_key_prefers_configuration(tmp_path, id_key):
    key, created = load_id_key({"ID_KEY": id_key, "INSTANCE_DIR": str(tmp_path)}, create=True)
    assert key == parse_key(id_key)
    assert created is None
    assert not (tmp_path / "id_key").exists()


def test_load_id_key_creates_development_file_once(tmp_path):
    config = {"ID_KEY": None, "INSTANCE_DIR": str(tmp_path / "instance")}
    with pytest.raises(IdKeyError, match="JOBBRIDGE_ID_KEY"):
        load_id_key(config)
    key, created = load_id_key(config, create=True)
    assert created == tmp_path / "instance" / "id_key"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    key2, created2 = load_id_key(config, create=True)
    assert key2 == key and created2 is None


def test_protector_rejects_wrong_key_length():
    with pytest.raises(IdKeyError, match="32"):
        IdProtector(b"x" * 16)
