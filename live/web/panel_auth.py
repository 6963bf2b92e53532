"""A panel member's link, its device session and its PIN.

The personal link is ``/p/{code}#t={token}``: the token rides in the fragment, which a
browser never sends, so no server or proxy log keeps it. The page posts it once to the
claim endpoint, which binds the link to the claiming device and answers with a session
cookie (HttpOnly, SameSite=Strict) named for the member; the tablet's socket shows that
cookie, never the token. The PIN, when a member has one, follows from the server key,
so the card can be printed again, and nothing about it is stored but a version number."""

from __future__ import annotations

import hashlib
import hmac

from live.web.auth import PANEL_MAX_AGE, Signer, TokenError

COOKIE_PREFIX = "live_panel_"
PIN_DIGITS = 6


def panel_url(public_base: str, code: str, token: str) -> str:
    return f"{public_base}/p/{code}#t={token}"


def cookie_name(member_id: int) -> str:
    return f"{COOKIE_PREFIX}{member_id}"


def device_hash(device: str) -> str:
    return hashlib.sha256(device.encode()).hexdigest()


def session_cookie(signer: Signer, meeting_id: int, member_id: int, version: int, device: str) -> str:
    return signer.dumps("panel-session", {"m": meeting_id, "p": member_id, "v": version, "d": device})


def read_session_cookie(signer: Signer, value: str) -> tuple[int, int, int, str]:
    d = signer.loads("panel-session", value, PANEL_MAX_AGE)
    device = d.get("d")
    if not isinstance(device, str) or not 16 <= len(device) <= 64:
        raise TokenError("评议团设备凭证无效", code="bad_token")
    try:
        return int(d["m"]), int(d["p"]), int(d["v"]), device
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("评议团设备凭证无效", code="bad_token") from exc


def member_pin(secret_key: str, meeting_id: int, member_id: int, pin_version: int) -> str | None:
    """The member's PIN, or None when the member has none (``pin_version`` 0)."""
    if pin_version <= 0:
        return None
    mac = hmac.new(secret_key.encode(), f"panel-pin|{meeting_id}|{member_id}|{pin_version}".encode(),
                   hashlib.sha256).digest()
    return str(int.from_bytes(mac[:8], "big") % 10 ** PIN_DIGITS).zfill(PIN_DIGITS)


def pin_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
