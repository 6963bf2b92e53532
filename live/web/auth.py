"""Passwords (argon2) and signed, revocable tokens and cookies (itsdangerous)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from live.domain.errors import ErrorCode, LiveError
from live.passwords import hash_password, new_meeting_code, new_password, verify_password

__all__ = ["Signer", "TokenError", "hash_password", "new_meeting_code", "new_password", "verify_password"]

HOST_COOKIE = "live_host"
RECORDER_COOKIE = "live_rec"
CSRF_HEADER = "x-csrf-token"
DEVICE_COOKIE = "live_dev"
CRED_COOKIE = "live_cred"  # live_cred_<meeting id>: a redeemed ticket or roster link
HOST_MAX_AGE = 12 * 3600
PANEL_MAX_AGE = 60 * 24 * 3600
# A phone's identity lives for one meeting day, not a year; the payload names the meeting.
DEVICE_MAX_AGE = 24 * 3600
ROSTER_MAX_AGE = 60 * 24 * 3600


def device_cookie_name(meeting_id: int) -> str:
    return f"{DEVICE_COOKIE}_{meeting_id}"


def cred_cookie_name(meeting_id: int) -> str:
    return f"{CRED_COOKIE}_{meeting_id}"


def cookie_name(base: str, https: bool) -> str:
    """``__Host-`` names on https: the browser then only takes them Secure, host-only, Path=/."""
    return f"__Host-{base}" if https else base


class TokenError(LiveError):
    """A credential that does not hold (401 unless said otherwise)."""

    default_code = ErrorCode.BAD_TOKEN


@dataclass
class Signer:
    secret_key: str

    def _s(self, salt: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt=f"live.{salt}")

    def dumps(self, salt: str, data: dict[str, Any]) -> str:
        return str(self._s(salt).dumps(data))

    def loads(self, salt: str, token: str, max_age: int) -> dict[str, Any]:
        try:
            data = self._s(salt).loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise TokenError("凭证已过期，请重新获取", code="expired") from exc
        except BadSignature as exc:
            raise TokenError("凭证无效", code="bad_token") from exc
        if not isinstance(data, dict):
            raise TokenError("凭证无效", code="bad_token")
        return data

    # Host session cookie: meeting id, the session version that signs every host out at
    # once, and the random id of this one login (live.store.sessions), which logout revokes.
    def host_cookie(self, meeting_id: int, version: int, session_id: str) -> str:
        return self.dumps("host", {"m": meeting_id, "v": version, "s": session_id})

    def read_host_cookie(self, value: str) -> tuple[int, int, str]:
        d = self.loads("host", value, HOST_MAX_AGE)
        sid = d.get("s")
        if not isinstance(sid, str) or not 20 <= len(sid) <= 64:
            raise TokenError("登录已失效，请重新登录", code="login_required")
        return int(d["m"]), int(d["v"]), sid

    # The recorder's cookie, made once from the link's token (the token never rides in a URL path).
    def recorder_cookie(self, meeting_id: int, version: int, session_id: str) -> str:
        return self.dumps("recorder-session", {"m": meeting_id, "v": version, "s": session_id})

    def read_recorder_cookie(self, value: str) -> tuple[int, int, str]:
        d = self.loads("recorder-session", value, HOST_MAX_AGE)
        sid = d.get("s")
        if not isinstance(sid, str) or not 20 <= len(sid) <= 64:
            raise TokenError("记录员凭证无效", code="bad_token")
        return int(d["m"]), int(d["v"]), sid

    def csrf_token(self, session_id: str) -> str:
        """The token a session's page sends back in ``X-CSRF-Token`` on every change."""
        mac = hmac.new(self.secret_key.encode(), b"live.csrf|" + session_id.encode(), hashlib.sha256)
        return mac.hexdigest()[:40]

    def csrf_ok(self, session_id: str, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(self.csrf_token(session_id), str(sent))

    def panel_token(self, meeting_id: int, member_id: int, version: int) -> str:
        return self.dumps("panel", {"m": meeting_id, "p": member_id, "v": version})

    def read_panel_token(self, token: str) -> tuple[int, int, int]:
        d = self.loads("panel", token, PANEL_MAX_AGE)
        return int(d["m"]), int(d["p"]), int(d["v"])

    def device_cookie(self, meeting_id: int, device_id: str | None = None, voter: bool = True) -> tuple[str, str]:
        """A phone's identity in one meeting; ``voter`` says it was minted as an open-mode voter."""
        device_id = device_id or secrets.token_urlsafe(12)
        return device_id, self.dumps("device", {"d": device_id, "m": meeting_id, "v": 1 if voter else 0})

    def read_device_cookie(self, value: str, meeting_id: int) -> tuple[str, bool]:
        """The device id and whether it may vote in open mode. A cookie of another meeting is refused."""
        d = self.loads("device", value, DEVICE_MAX_AGE)
        device = d.get("d")
        if not isinstance(device, str) or not 8 <= len(device) <= 40:
            raise TokenError("设备凭证无效", code="bad_token")
        if d.get("m") != meeting_id:
            raise TokenError("设备凭证属于另一场会议，请重新扫码加入", code="wrong_meeting")
        return device, d.get("v") == 1

    def cred_cookie(self, meeting_id: int, credential_id: int, version: int, device_id: str) -> str:
        return self.dumps("cred", {"m": meeting_id, "c": credential_id, "v": version, "d": device_id})

    def read_cred_cookie(self, value: str, meeting_id: int) -> tuple[int, int, str]:
        d = self.loads("cred", value, DEVICE_MAX_AGE)
        if d.get("m") != meeting_id:
            raise TokenError("投票凭证属于另一场会议", code="wrong_meeting")
        return int(d["c"]), int(d["v"]), str(d["d"])

    def roster_token(self, meeting_id: int, credential_id: int) -> str:
        return self.dumps("roster", {"m": meeting_id, "c": credential_id})

    def read_roster_token(self, token: str) -> tuple[int, int]:
        d = self.loads("roster", token, ROSTER_MAX_AGE)
        return int(d["m"]), int(d["c"])
