"""What the endpoints share: settings, engine, writer, hub, signer, limiters."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network

from sqlalchemy import Engine

from live.config import Settings, socket_cap
from live.realtime.hub import Hub
from live.realtime.live_doc import LiveDocs
from live.store.own_ballots import OwnBallots
from live.store.writer import Writer
from live.web.admission import Admission
from live.web.auth import Signer, cookie_name
from live.web.guard import client_address, parse_networks
from live.web.guess_limit import GuessLimiter
from live.web.ratelimit import LoginThrottle, RateLimiter, VoiceLimits


@dataclass
class Services:
    settings: Settings
    engine: Engine
    writer: Writer
    hub: Hub
    signer: Signer
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # Wrong panel-card PINs: 5 per member in 5 minutes, then wait (live.web.panel_routes).
    pin_failures: RateLimiter = field(default_factory=lambda: RateLimiter(5, 300))
    public_hits: RateLimiter = field(default_factory=lambda: RateLimiter(1200, 60))
    voice_limits: VoiceLimits = field(default_factory=VoiceLimits)  # comments, questions, upvotes, likes
    # Ticket and roster redemption: per address, and per meeting against a distributed guesser.
    guesses_ip: GuessLimiter = field(default_factory=lambda: GuessLimiter(free=10))
    guesses_meeting: GuessLimiter = field(
        default_factory=lambda: GuessLimiter(free=1000, base_s=1.0, max_s=30.0, forget_s=600.0))
    live_docs: LiveDocs = field(default_factory=LiveDocs)  # live.json, built once per change
    own_ballots: OwnBallots = field(init=False)
    admission: Admission = field(init=False)  # the worker's socket cap (live.web.admission)
    trusted_proxies: list[IPv4Network | IPv6Network] = field(init=False)  # phones' own ballots, read in batches on join

    def __post_init__(self) -> None:
        self.own_ballots = OwnBallots(self.engine)
        self.admission = Admission(socket_cap(self.settings))
        self.trusted_proxies = parse_networks(self.settings.trusted_proxies)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str:
        """X-Forwarded-For counts only when the peer is one of LIVE_TRUSTED_PROXIES."""
        return client_address(peer, forwarded_for, self.trusted_proxies)

    def cookie(self, base: str) -> str:
        return cookie_name(base, self.settings.https)

    def public_base(self, request_base: str) -> str:
        return (self.settings.public_url or request_base).rstrip("/")
