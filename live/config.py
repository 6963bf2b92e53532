"""Settings from flags or LIVE_* environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

# The server drops a WebSocket frame larger than this and closes the socket with 1009
# (message too big); frames up to it but over Settings.max_message_bytes get ``too_large``.
WS_MAX_FRAME = 65536
# How `live serve` runs uvicorn's WebSockets (tests start their servers with the same).
UVICORN_WS_OPTIONS: dict[str, object] = {"ws": "websockets-sansio", "ws_per_message_deflate": False,
                                         "ws_max_size": WS_MAX_FRAME}


@dataclass
class Settings:
    database_url: str
    secret_key: str
    redis_url: str | None = None
    redis_channel: str = "live:bus"  # one per deployment sharing a Redis
    public_url: str | None = None  # what QR codes point at, e.g. https://live.example.gov.cn
    data_dir: Path = field(default_factory=lambda: Path("data"))
    sqlite_synchronous: str = "FULL"
    migrate: bool = True
    client_queue: int = 256
    max_message_bytes: int = 4096
    socket_rate: float = 10.0  # messages a second per socket, with bursts of socket_burst
    socket_burst: float = 30.0
    cookie_secure: bool = False
    tick_s: float = 0.25
    # Live tallies for everyone but the host go out in coarse batches (live.domain.visibility):
    # at most one every tally_interval_s, once tally_min_ballots new ballots came in or the
    # oldest unshown one waited tally_catchup_s.
    tally_interval_s: float = 2.5
    tally_min_ballots: int = 5
    tally_catchup_s: float = 10.0
    # Connections waiting to be accepted. A hall's phones come back together after a Wi-Fi
    # blip; past this queue the kernel drops them into TCP retransmission (1 s, 3 s, 7 s...).
    # The kernel caps it at net.core.somaxconn.
    backlog: int = 8192

    @staticmethod
    def from_env(**overrides: object) -> Settings:
        env = os.environ
        data_dir = Path(str(overrides.pop("data_dir", None) or env.get("LIVE_DATA_DIR", "data")))
        url = str(overrides.pop("database_url", None) or env.get("LIVE_DATABASE_URL", "")) or \
            f"sqlite:///{data_dir / 'live.db'}"
        secret = str(overrides.pop("secret_key", None) or env.get("LIVE_SECRET_KEY", "")) or \
            load_or_create_secret(data_dir)
        s = Settings(database_url=url, secret_key=secret, data_dir=data_dir,
                     redis_url=env.get("LIVE_REDIS_URL") or None,
                     redis_channel=env.get("LIVE_REDIS_CHANNEL") or "live:bus",
                     public_url=env.get("LIVE_PUBLIC_URL") or None,
                     backlog=int(env.get("LIVE_BACKLOG") or 8192),
                     cookie_secure=env.get("LIVE_COOKIE_SECURE", "") in ("1", "true", "yes"))
        for key, value in overrides.items():
            if value is not None:
                setattr(s, key, value)
        return s


def load_or_create_secret(data_dir: Path) -> str:
    """A per-installation key kept beside the database, so cookies survive restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
