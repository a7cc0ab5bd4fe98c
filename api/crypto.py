"""Protection of resident ID numbers (居民身份证号码) at rest.

A worker's ID number is stored three ways, none of which reveals it in a database dump:

``id_cipher``
    AES-256-GCM ciphertext (12-byte random nonce ‖ ciphertext ‖ 16-byte tag), decryptable only
    with the key, for the few roles that must see the number (a later issue decides which).
``id_hash``
    HMAC-SHA256 of the normalised number under a *separate* key, hex. Deterministic, so a UNIQUE
    index on it refuses a second registration of the same person; keyed, so the 18-digit space
    (small enough to enumerate) cannot be brute-forced from a dump without the key.
``id_masked``
    ``6106**********123X``: what lists and exports show.

Both keys are derived with HKDF-SHA256 from one master key, base64 of 32 random bytes, taken from
configuration (``JOBBRIDGE_ID_KEY``). Production sets that variable (and keeps a copy: losing the
key makes the stored numbers unreadable). In development, when it is unset, the CLI creates
``instance/id_key`` (mode 0600) on first use and says so — see :func:`load_id_key`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
#: Associated data bound into every ciphertext, so a blob cannot be replayed as another field.
_AAD = b"jobbridge:workers.id_number:v1"
_ENC_INFO = b"jobbridge id_number aes-256-gcm v1"
_MAC_INFO = b"jobbridge id_number hmac-sha256 v1"
KEY_FILE_NAME = "id_key"


class IdKeyError(RuntimeError):
    """The ID key is missing, malformed, or not the one the data was encrypted with."""


def generate_key() -> str:
    """Return a new master key: base64 of 32 random bytes (what ``JOBBRIDGE_ID_KEY`` holds)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str | bytes) -> bytes:
    """Decode a base64 master key and check that it is 32 bytes.

    Raises
    ------
    IdKeyError
        When ``text`` is not base64 or does not decode to 32 bytes.
    """
    raw = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise IdKeyError(
            "身份证加密密钥 JOBBRIDGE_ID_KEY 不是有效的 base64 文本；"
            '请用 `python -c "import api.crypto as c; print(c.generate_key())"` 生成。'
        ) from None
    if len(key) != KEY_BYTES:
        raise IdKeyError(
            f"身份证加密密钥解码后为 {len(key)} 字节，"
            f"应为 {KEY_BYTES} 字节（base64 编码的 32 个随机字节）。"
        )
    return key


def normalise_id_number(id_number: str) -> str:
    """Strip spaces and upper-case the check character, so 'x' and 'X' hash alike."""
    if not isinstance(id_number, str):
        raise TypeError(f"身份证号应为字符串，收到 {type(id_number).__name__}: {id_number!r}")
    return id_number.strip().upper()


def mask_id_number(id_number: str) -> str:
    """Return the display form: first 4 and last 4 characters, the middle as ``*``.

    >>> mask_id_number("61062319900101123X")
    '6106**********123X'
    """
    value = normalise_id_number(id_number)
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


@dataclass(frozen=True)
class ProtectedId:
    """The three stored forms of one ID number."""

    cipher: bytes
    hash: str
    masked: str


class IdProtector:
    """Encrypt, fingerprint and mask resident ID numbers with keys derived from one master key.

    Parameters
    ----------
    master_key : bytes
        32 bytes (see :func:`parse_key`).

    Examples
    --------
    >>> p = IdProtector(bytes(32))
    >>> stored = p.protect("61062319900101123X")
    >>> p.decrypt(stored.cipher), stored.masked
    ('61062319900101123X', '6106**********123X')
    >>> p.fingerprint("61062319900101123x") == stored.hash
    True
    """

    def __init__(self, master_key: bytes) -> None:
        if not isinstance(master_key, bytes | bytearray) or len(master_key) != KEY_BYTES:
            raise IdKeyError(f"主密钥应为 {KEY_BYTES} 字节，收到 {len(master_key)} 字节。")
        enc_key = HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=_ENC_INFO).derive(
            bytes(master_key)
        )
        self._mac_key = HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=_MAC_INFO).derive(
            bytes(master_key)
        )
        self._aead = AESGCM(enc_key)

    def encrypt(self, id_number: str) -> bytes:
        """Return ``nonce ‖ ciphertext ‖ tag`` of the normalised number."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(
            nonce, normalise_id_number(id_number).encode("ascii"), _AAD
        )

    def decrypt(self, blob: bytes) -> str:
        """Return the number a blob of :meth:`encrypt` holds.

        Raises
        ------
        IdKeyError
            When the blob was made with another key or has been altered.
        """
        blob = bytes(blob)
        try:
            plain = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _AAD)
        except InvalidTag:
            raise IdKeyError(
                "无法解密身份证号：密钥与加密时不同，或数据已损坏。请检查 JOBBRIDGE_ID_KEY。"
            ) from None
        return plain.decode("ascii")

    def fingerprint(self, id_number: str) -> str:
        """Return the keyed de-duplication hash (64 hex characters)."""
        return hmac.digest(
            self._mac_key, normalise_id_number(id_number).encode("ascii"), hashlib.sha256
        ).hex()

    def protect(self, id_number: str) -> ProtectedId:
        """Return the cipher, hash and masked form of one number."""
        return ProtectedId(
            self.encrypt(id_number), self.fingerprint(id_number), mask_id_number(id_number)
        )

    def protect_many(self, id_numbers: Iterable[str]) -> tuple[list[bytes], list[str], list[str]]:
        """Protect a column of numbers at once (the bulk-load path).

        One ``os.urandom`` call serves every nonce and the per-row work stays in C, which keeps
        1,000,000 numbers to a few seconds.

        Returns
        -------
        ciphers, hashes, masked : lists of the same length as ``id_numbers``
        """
        values = [normalise_id_number(v) for v in id_numbers]
        raws = [v.encode("ascii") for v in values]
        n = len(raws)
        nonce_block = os.urandom(NONCE_BYTES * n)
        nonces = [nonce_block[k : k + NONCE_BYTES] for k in range(0, NONCE_BYTES * n, NONCE_BYTES)]
        encrypt = self._aead.encrypt
        ciphers = [
            nonce + encrypt(nonce, raw, _AAD) for nonce, raw in zip(nonces, raws, strict=True)
        ]
        # HMAC with the key schedule done once: copying the keyed inner/outer SHA-256 states
        # is a third cheaper per row than hmac.digest, which re-keys every call.
        block = self._mac_key.ljust(64, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

        def keyed(raw: bytes) -> str:
            h_in = inner.copy()
            h_in.update(raw)
            h_out = outer.copy()
            h_out.update(h_in.digest())
            return h_out.hexdigest()

        hashes_ = [keyed(raw) for raw in raws]
        stars = "*" * 10
        masked = [v[:4] + stars + v[-4:] if len(v) == 18 else mask_id_number(v) for v in values]
        return ciphers, hashes_, masked

    def decrypt_many(self, blobs: Sequence[bytes]) -> list[str]:
        """Decrypt a column of blobs (exports ``--with-id-numbers``)."""
        return [self.decrypt(b) for b in blobs]


def key_file_path(config: Mapping[str, Any]) -> Path:
    """Where the development key lives: ``INSTANCE_DIR/id_key``."""
    return Path(config["INSTANCE_DIR"]) / KEY_FILE_NAME


def load_id_key(config: Mapping[str, Any], *, create: bool = False) -> tuple[bytes, Path | None]:
    """Return the master key, creating the development key file when allowed.

    Order: ``config["ID_KEY"]`` (from ``JOBBRIDGE_ID_KEY``), then the file
    ``INSTANCE_DIR/id_key``; when neither exists and ``create`` is true a new key is written there
    with mode 0600.

    Returns
    -------
    key : bytes
    created : Path or None
        The file just created, so the caller can tell the user; ``None`` otherwise.

    Raises
    ------
    IdKeyError
        When no key is configured and ``create`` is false, or the key is malformed.
    api.permissions.LoosePermissions
        When the key file can be read by its group or others (and ``ALLOW_LOOSE_PERMISSIONS``
        is off).
    """
    from api.permissions import make_private_dir, require_private

    configured = config.get("ID_KEY")
    if configured:
        return parse_key(configured), None
    path = key_file_path(config)
    if path.exists():
        require_private(path, "身份证加密密钥文件", config)
        return parse_key(path.read_text(encoding="ascii")), None
    if not create:
        raise IdKeyError(
            f"未配置身份证加密密钥：请设置环境变量 JOBBRIDGE_ID_KEY（生产环境必须设置），"
            f"或在开发环境运行 `jobbridge init-db` 以在 {path} 生成一个。"
        )
    make_private_dir(path.parent)
    # O_EXCL: two processes starting at once must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return parse_key(path.read_text(encoding="ascii")), None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(generate_key() + "\n")
    return parse_key(path.read_text(encoding="ascii")), path


def protector_from_config(config: Mapping[str, Any], *, create: bool = False) -> IdProtector:
    """Return an :class:`IdProtector` for the configured key (see :func:`load_id_key`)."""
    key, _ = load_id_key(config, create=create)
    return IdProtector(key)


__all__ = [
    "IdKeyError",
    "IdProtector",
    "ProtectedId",
    "generate_key",
    "key_file_path",
    "load_id_key",
    "mask_id_number",
    "normalise_id_number",
    "parse_key",
    "protector_from_config",
]
