"""Settings from flags or LIVE_* environment variables."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from live.keys import default_key_path

# The server drops a WebSocket frame larger than this and closes the socket with 1009
# (message too big); frames up to it but over Settings.max_message_bytes get ``too_large``.
WS_MAX_FRAME = 65536
# How `live serve` runs uvicorn's WebSockets (tests start their servers with the same).
# The protocol is uvicorn's sans-I/O one ("websockets-sansio") with direct frame writes for the
# fan-out (live/web/ws_protocol.py); per-message deflate stays off, so one frame fits every socket.
UVICORN_WS_OPTIONS: dict[str, object] = {"ws": "live.web.ws_protocol:LiveWebSocketProtocol",
                                         "ws_per_message_deflate": False,
                                         "ws_max_size": WS_MAX_FRAME}
# The server pings every socket this often and closes one whose pong has not come this long
# after: a phone whose Wi-Fi vanished without a word is closed within the sum (20 s), its file
# descriptor freed before a hall's returning phones need it (docs/scaling.md, Dead sockets).
WS_PING_INTERVAL_S = 10.0
WS_PING_TIMEOUT_S = 10.0
# Files a worker keeps for itself besides its sockets: the database pool, Redis, logs, the
# listening socket, slide renders, and the sockets still closing (docs/scaling.md, Per-worker cap).
FD_HEADROOM = 1000


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
    # Edge security (docs/security.md).
    allowed_origins: tuple[str, ...] = ()  # extra origins besides LIVE_PUBLIC_URL's, e.g. https://backup.example
    trusted_proxies: tuple[str, ...] = ()  # CIDRs whose X-Forwarded-For is believed; none by default
    session_idle_s: int = 2 * 3600  # a host session unused this long is signed out
    session_max_s: int = 12 * 3600  # and every session ends this long after login
    metrics_token: str | None = None  # /metrics answers only with "Authorization: Bearer <token>"
    # Open voting: new voter identities per network prefix (/24, /48) per meeting. A hall's
    # phones often share one NAT address, so this needs headroom; see docs/security.md.
    open_ids_per_ip: int = 60
    # WebSocket keepalive pings (see WS_PING_INTERVAL_S); 0 turns them off.
    ws_ping_interval_s: float = WS_PING_INTERVAL_S
    ws_ping_timeout_s: float = WS_PING_TIMEOUT_S
    # Sockets one worker holds at most (admission control); 0: derived from the file limit.
    max_sockets: int = 0
    # The Ed25519 key that signs meeting records (live keys create); None: records stay unsigned.
    signing_key_path: Path | None = None

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
                     open_ids_per_ip=int(env.get("LIVE_OPEN_IDS_PER_IP") or 60),
                     cookie_secure=env.get("LIVE_COOKIE_SECURE", "") in ("1", "true", "yes"),
                     allowed_origins=_split(env.get("LIVE_ALLOWED_ORIGINS")),
                     trusted_proxies=_split(env.get("LIVE_TRUSTED_PROXIES")),
                     session_idle_s=int(env.get("LIVE_SESSION_IDLE_S") or 2 * 3600),
                     session_max_s=int(env.get("LIVE_SESSION_MAX_S") or 12 * 3600),
                     metrics_token=env.get("LIVE_METRICS_TOKEN") or None,
                     ws_ping_interval_s=float(env.get("LIVE_WS_PING_INTERVAL_S") or WS_PING_INTERVAL_S),
                     ws_ping_timeout_s=float(env.get("LIVE_WS_PING_TIMEOUT_S") or WS_PING_TIMEOUT_S),
                     max_sockets=int(env.get("LIVE_MAX_SOCKETS") or 0),
                     signing_key_path=default_key_path(data_dir))
        for key, value in overrides.items():
            if value is not None:
                setattr(s, key, value)
        return s


    @property
    def https(self) -> bool:
        """The public address is https: cookies get the Secure flag and the ``__Host-`` prefix."""
        return bool(self.public_url and self.public_url.lower().startswith("https://"))

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure or self.https


def uvicorn_ws_options(settings: Settings) -> dict[str, object]:
    """What `live serve` passes to uvicorn for WebSockets: the fixed options and the keepalive."""
    interval = settings.ws_ping_interval_s or None
    return {**UVICORN_WS_OPTIONS, "ws_ping_interval": interval,
            "ws_ping_timeout": settings.ws_ping_timeout_s if interval else None}


def socket_cap(settings: Settings) -> int:
    """Sockets a worker admits: ``LIVE_MAX_SOCKETS`` if set, else the soft file limit less
    ``FD_HEADROOM`` (at least 100). Past it a new socket is closed with 4429 and a retry hint."""
    if settings.max_sockets > 0:
        return settings.max_sockets
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 10_000
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(100, soft - FD_HEADROOM)


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").replace(";", ",").split(",") if part.strip())


# Values that appear in this repository's examples and docs: never a real key.
EXAMPLE_KEYS = frozenset({"change-me-to-48-random-characters", "change-me", "changeme", "secret", "test-secret-key",
                          "please-change-me", "your-secret-key", "replace-me"})
MIN_KEY_BYTES = 32
MAKE_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


def secret_key_problem(key: str) -> str | None:
    """Why ``key`` must not sign a production server's cookies, or None if it may."""
    if key.strip().lower() in EXAMPLE_KEYS or "change-me" in key.lower() or "example" in key.lower():
        return f"签名密钥 LIVE_SECRET_KEY 是示例中的占位值，任何人都能用它伪造主持人登录。请生成新密钥：{MAKE_KEY}"
    if len(key.encode()) < MIN_KEY_BYTES:
        return (f"签名密钥 LIVE_SECRET_KEY 太短（{len(key.encode())} 字节，至少 {MIN_KEY_BYTES} 字节）。"
                f"请生成新密钥：{MAKE_KEY}")
    return None


def make_private_dir(path: Path) -> None:
    """A data directory only the server's user can read (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # a mounted volume we do not own: leave it as it is
        path.chmod(0o700)


def load_or_create_secret(data_dir: Path) -> str:
    """A per-installation key kept beside the database, so cookies survive restarts."""
    make_private_dir(data_dir)
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
