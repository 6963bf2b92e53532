"""The installation's Ed25519 signing key: a file outside the database, mode 0600.

The meeting record's root is signed with it (live.domain.record); ``live keys create``
writes it and ``live keys show`` prints its public half.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

KEY_ENV = "LIVE_SIGNING_KEY"


class KeyFileError(RuntimeError):
    """The key file exists and would be overwritten, or cannot be read as an Ed25519 key."""


def default_key_path(data_dir: Path) -> Path:
    env = os.environ.get(KEY_ENV, "").strip()
    return Path(env) if env else data_dir / "signing.key"


def create_key(path: Path, force: bool = False) -> Ed25519PrivateKey:
    """Write a new key (PEM, PKCS#8) readable by the owner only. Refuses to overwrite unless ``force``."""
    if path.exists() and not force:
        raise KeyFileError(f"签名密钥文件已存在：{path}"
                           "（覆盖会使已签名的记录无法再用新公钥核验；确需覆盖请加 --force）")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    tmp = path.with_name(path.name + ".tmp")
    # Created 0600 from the start: the key is never readable by others, not even for a moment.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key


def load_key(path: Path) -> Ed25519PrivateKey | None:
    """The key at ``path``, or None when there is no file. A file that is not a key raises KeyFileError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(f"无法读取签名密钥 {path}：{exc.strerror or exc}") from exc
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} 不是有效的签名密钥文件") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} 不是 Ed25519 密钥")
    return key
