"""The one error type of the server: :class:`LiveError`.

Every refusal a client can see, on the socket or over HTTP, is a ``LiveError`` carrying a
stable ``code`` from :class:`ErrorCode`, a Chinese ``message`` fit to show a user as is, an
optional HTTP ``status`` and extra fields (``already_voted`` carries the stored ballot)::

    ValueError
     └── LiveError                 code, message, status, extra, msg_id
          ├── PhaseError           illegal_transition (live.domain.phases)
          │    └── RectificationError
          ├── BallotError          invalid_ballot (live.domain.scheme)
          ├── ModerationError      invalid_text (live.domain.moderation)
          ├── QuestionImportError  invalid_file (live.domain.question_import)
          ├── DeckError            invalid_deck (live.store.slides)
          ├── PaperError           invalid_paper (live.domain.paper)
          ├── VisibilityError      invalid_visibility (live.domain.visibility)
          ├── TokenError           bad_token, 401 (live.web.auth)
          ├── BadMessage           bad_message (live.web.messages)
          └── CommandRefused       what the writer's callers get (live.store.writer)

The subclasses exist so that code can catch one family (``except PhaseError``); they add
nothing but a default code (``CommandRefused`` keeps its old ``(code, message)`` argument
order). ``DomainError`` is another name for ``LiveError``. The socket renders one as an ``error`` frame
(``live.web.frames.error_frame``), HTTP as ``{"error": {"code", "message"}}`` through one
exception handler (``live.web.errors``). docs/protocol.md lists every code (tested).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every code the server can send. Add a code here (with its Chinese default message)
    and to docs/protocol.md's error list before raising it; tests/test_errors.py checks both."""

    # the frame or request itself
    BAD_JSON = "bad_json"
    BAD_MESSAGE = "bad_message"
    UNKNOWN_TYPE = "unknown_type"
    TOO_DEEP = "too_deep"
    TOO_LARGE = "too_large"
    INVALID = "invalid"
    RATE_LIMITED = "rate_limited"
    SERVER_FULL = "server_full"
    INTERNAL = "internal"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # who you are
    LOGIN_REQUIRED = "login_required"
    BAD_PASSWORD = "bad_password"
    BAD_TOKEN = "bad_token"
    EXPIRED = "expired"
    REVOKED = "revoked"
    JOIN_REQUIRED = "join_required"
    BAD_ROLE = "bad_role"
    CLAIM_REQUIRED = "claim_required"
    BOUND_ELSEWHERE = "bound_elsewhere"
    RELEASED = "released"
    PIN_REQUIRED = "pin_required"
    BAD_PIN = "bad_pin"
    FORBIDDEN = "forbidden"
    BAD_ORIGIN = "bad_origin"
    CSRF = "csrf"
    NOT_FOUND = "not_found"
    # the meeting's course
    ILLEGAL_TRANSITION = "illegal_transition"
    STALE = "stale"
    NO_CHANGE = "no_change"
    CONFLICT = "conflict"
    CLOSED = "closed"
    ALREADY_CLOSED = "already_closed"
    # ballots and schemes
    NOT_VOTING = "not_voting"
    NOT_ELIGIBLE = "not_eligible"
    INVALID_BALLOT = "invalid_ballot"
    INVALID_SCHEME = "invalid_scheme"
    SCHEME_LOCKED = "scheme_locked"
    ALREADY_VOTED = "already_voted"
    BALLOT_ID_TAKEN = "ballot_id_taken"
    # results visibility
    VISIBILITY_LOCKED = "visibility_locked"
    INVALID_VISIBILITY = "invalid_visibility"
    NOT_FROZEN = "not_frozen"
    # paper ballots
    INVALID_PAPER = "invalid_paper"
    PAPER_PENDING = "paper_pending"
    PAPER_MISMATCH = "paper_mismatch"
    SHEET_CONFIRMED = "sheet_confirmed"
    SAME_ENTRANT = "same_entrant"
    NOT_OPEN = "not_open"
    # slides
    NO_DECK = "no_deck"
    BAD_PAGE = "bad_page"
    INVALID_DECK = "invalid_deck"
    NO_FILE = "no_file"
    EMPTY_FILE = "empty_file"
    TOO_MANY_PAGES = "too_many_pages"
    RENDER_TIMEOUT = "render_timeout"
    RENDER_LIMIT = "render_limit"
    # the public's voice
    INVALID_TEXT = "invalid_text"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    BANNED_WORDS = "banned_words"
    BANNED = "banned"
    BAD_TERM = "bad_term"
    TERM_TOO_SHORT = "term_too_short"
    TERM_TOO_LONG = "term_too_long"
    # question import
    INVALID_FILE = "invalid_file"
    BAD_CSV = "bad_csv"
    BAD_XLSX = "bad_xlsx"
    BAD_ENCODING = "bad_encoding"
    XLS_UNSUPPORTED = "xls_unsupported"
    NO_HEADER = "no_header"
    MISSING_COLUMN = "missing_column"
    NO_ROWS = "no_rows"
    TOO_MANY_ROWS = "too_many_rows"
    NO_PRESENTERS = "no_presenters"
    # 整改
    UNKNOWN_STATUS = "unknown_status"
    REASON_REQUIRED = "reason_required"
    REASON_TOO_LONG = "reason_too_long"
    # public voting credentials
    BAD_CREDENTIAL = "bad_credential"
    BAD_CODE = "bad_code"
    BAD_CHECK = "bad_check"
    WRONG_MEETING = "wrong_meeting"
    WRONG_MODE = "wrong_mode"
    MODE_LOCKED = "mode_locked"
    MODE_CHANGED = "mode_changed"
    UNKNOWN_GROUP = "unknown_group"
    CREDENTIAL_REQUIRED = "credential_required"
    IDENTITY_CAP = "identity_cap"
    MEETING_ENDED = "meeting_ended"
    # the meeting record
    NOT_ENDED = "not_ended"
    NOT_PUBLISHED = "not_published"
    NOT_SEALED = "not_sealed"
    # printables
    NO_FONT = "no_font"
    # the administrators' workspace
    SETUP_LOCKED = "setup_locked"

    @property
    def default_message(self) -> str:
        return _MESSAGES[self]

    @property
    def default_status(self) -> int:
        return _STATUS.get(self, 400)


_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_JSON: "消息不是合法的 JSON",
    ErrorCode.BAD_MESSAGE: "消息格式错误",
    ErrorCode.UNKNOWN_TYPE: "未知的消息类型",
    ErrorCode.TOO_DEEP: "消息嵌套过深",
    ErrorCode.TOO_LARGE: "内容过大",
    ErrorCode.INVALID: "请求无效",
    ErrorCode.RATE_LIMITED: "操作过于频繁，请稍后再试",
    ErrorCode.SERVER_FULL: "当前在线人数已满，稍后将自动重新连接",
    ErrorCode.INTERNAL: "服务器内部错误，请重试",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "请求格式错误：请以 application/json 提交",
    ErrorCode.LOGIN_REQUIRED: "请先以主持人身份登录",
    ErrorCode.BAD_PASSWORD: "密码错误",
    ErrorCode.BAD_TOKEN: "凭证无效",
    ErrorCode.EXPIRED: "凭证已过期，请重新获取",
    ErrorCode.REVOKED: "该链接已被收回，请向会务人员索取新链接",
    ErrorCode.JOIN_REQUIRED: "请先扫描二维码或输入会议码加入",
    ErrorCode.BAD_ROLE: "未知的身份",
    ErrorCode.CLAIM_REQUIRED: "请重新扫描评议卡上的二维码打开评议页面",
    ErrorCode.BOUND_ELSEWHERE: "该链接或票码已在另一台设备上使用，请联系主持人解除绑定",
    ErrorCode.RELEASED: "主持人已解除绑定，本设备上的凭证已失效，请重新扫描二维码或输入票码",
    ErrorCode.PIN_REQUIRED: "请输入评议卡上印的 PIN 码",
    ErrorCode.BAD_PIN: "PIN 码错误，请核对评议卡",
    ErrorCode.FORBIDDEN: "无权执行该操作",
    ErrorCode.BAD_ORIGIN: "请求来源不被允许：请从本系统的页面操作",
    ErrorCode.CSRF: "页面凭证缺失或已过期，请刷新页面后重试",
    ErrorCode.NOT_FOUND: "没有找到",
    ErrorCode.ILLEGAL_TRANSITION: "当前状态下不能执行该操作",
    ErrorCode.STALE: "界面已过期，请刷新后重试",
    ErrorCode.NO_CHANGE: "没有变化",
    ErrorCode.CONFLICT: "操作冲突，请重试",
    ErrorCode.CLOSED: "已结束，不再接受",
    ErrorCode.ALREADY_CLOSED: "已销号",
    ErrorCode.NOT_VOTING: "当前不在测评阶段",
    ErrorCode.NOT_ELIGIBLE: "您所在的群体不参加本次测评",
    ErrorCode.INVALID_BALLOT: "选票无效",
    ErrorCode.INVALID_SCHEME: "测评方案无效",
    ErrorCode.SCHEME_LOCKED: "测评已开始，方案不能再改",
    ErrorCode.ALREADY_VOTED: "您已对该述法人投过票",
    ErrorCode.BALLOT_ID_TAKEN: "选票编号冲突，请刷新页面后重新投票",
    ErrorCode.VISIBILITY_LOCKED: "测评已开始，结果显示方式不能再改",
    ErrorCode.INVALID_VISIBILITY: "结果显示设置无效",
    ErrorCode.NOT_FROZEN: "测评结束、结果冻结后才能揭晓",
    ErrorCode.INVALID_PAPER: "纸质测评表录入内容无效",
    ErrorCode.PAPER_PENDING: "尚有纸质测评表未完成复核录入",
    ErrorCode.PAPER_MISMATCH: "两次录入不一致，请先作废后重新录入",
    ErrorCode.SHEET_CONFIRMED: "该表号已复核计票，不能重复录入",
    ErrorCode.SAME_ENTRANT: "复核录入须由另一人完成",
    ErrorCode.NOT_OPEN: "只有待复核或不一致的录入可以作废",
    ErrorCode.NO_DECK: "该述法人还没有上传材料",
    ErrorCode.BAD_PAGE: "没有该页",
    ErrorCode.INVALID_DECK: "文件不是可用的 PDF",
    ErrorCode.NO_FILE: "没有收到文件",
    ErrorCode.EMPTY_FILE: "文件是空的",
    ErrorCode.TOO_MANY_PAGES: "页数过多",
    ErrorCode.RENDER_TIMEOUT: "PDF 渲染超时：文件可能已损坏，请重新导出后上传",
    ErrorCode.RENDER_LIMIT: "PDF 渲染超出时间或内存上限",
    ErrorCode.INVALID_TEXT: "内容无效",
    ErrorCode.EMPTY: "内容不能为空",
    ErrorCode.TOO_LONG: "内容过长",
    ErrorCode.BANNED_WORDS: "内容含有不文明用语",
    ErrorCode.BANNED: "该设备已被禁止发言",
    ErrorCode.BAD_TERM: "词语无效",
    ErrorCode.TERM_TOO_SHORT: "词语过短",
    ErrorCode.TERM_TOO_LONG: "词语过长",
    ErrorCode.INVALID_FILE: "文件无法读取",
    ErrorCode.BAD_CSV: "CSV 文件无法读取",
    ErrorCode.BAD_XLSX: "XLSX 文件无法读取",
    ErrorCode.BAD_ENCODING: "文件编码无法识别",
    ErrorCode.XLS_UNSUPPORTED: "不支持旧版 XLS，请另存为 XLSX",
    ErrorCode.NO_HEADER: "文件没有表头",
    ErrorCode.MISSING_COLUMN: "缺少必需的列",
    ErrorCode.NO_ROWS: "文件没有数据行",
    ErrorCode.TOO_MANY_ROWS: "行数过多",
    ErrorCode.NO_PRESENTERS: "会议还没有述法人",
    ErrorCode.UNKNOWN_STATUS: "未知的整改状态",
    ErrorCode.REASON_REQUIRED: "请填写原因",
    ErrorCode.REASON_TOO_LONG: "原因过长",
    ErrorCode.BAD_CREDENTIAL: "票码或凭证无效",
    ErrorCode.BAD_CODE: "票码格式不对",
    ErrorCode.BAD_CHECK: "票码有误（校验位不符）",
    ErrorCode.WRONG_MEETING: "该凭证不属于本场会议",
    ErrorCode.WRONG_MODE: "本场会议不使用该投票方式",
    ErrorCode.MODE_LOCKED: "测评已开始，公众投票方式不能再改",
    ErrorCode.MODE_CHANGED: "本场公众投票方式已变更，请刷新页面",
    ErrorCode.UNKNOWN_GROUP: "群体不在测评方案的公众投票组中",
    ErrorCode.CREDENTIAL_REQUIRED: "本场测评需凭票码或个人链接投票",
    ErrorCode.IDENTITY_CAP: "本网络新加入的投票手机已达上限",
    ErrorCode.MEETING_ENDED: "会议已结束，投票已关闭",
    ErrorCode.NOT_ENDED: "会议结束后才能执行该操作",
    ErrorCode.NOT_PUBLISHED: "该会议的测评结果尚未公开",
    ErrorCode.NOT_SEALED: "会议记录尚未封存",
    ErrorCode.NO_FONT: "服务器缺少中文字体，无法生成文件",
    ErrorCode.SETUP_LOCKED: "会议已开始：述法人、评议团、测评方案、不记名与公众投票方式已锁定，不能再改",
}

_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INTERNAL: 500, ErrorCode.NO_FONT: 503, ErrorCode.SERVER_FULL: 503,
    ErrorCode.LOGIN_REQUIRED: 401, ErrorCode.BAD_PASSWORD: 401, ErrorCode.BAD_TOKEN: 401,
    ErrorCode.EXPIRED: 401, ErrorCode.REVOKED: 401, ErrorCode.JOIN_REQUIRED: 401,
    ErrorCode.CLAIM_REQUIRED: 401, ErrorCode.RELEASED: 401, ErrorCode.PIN_REQUIRED: 401, ErrorCode.BAD_PIN: 401,
    ErrorCode.BOUND_ELSEWHERE: 409,
    ErrorCode.FORBIDDEN: 403, ErrorCode.BAD_ORIGIN: 403, ErrorCode.CSRF: 403, ErrorCode.NOT_FOUND: 404,
    ErrorCode.NOT_PUBLISHED: 404, ErrorCode.NOT_SEALED: 404,
    ErrorCode.ILLEGAL_TRANSITION: 409, ErrorCode.ALREADY_CLOSED: 409, ErrorCode.NO_CHANGE: 409,
    ErrorCode.SCHEME_LOCKED: 409, ErrorCode.STALE: 409, ErrorCode.CONFLICT: 409,
    ErrorCode.NOT_ENDED: 409,
    ErrorCode.VISIBILITY_LOCKED: 409, ErrorCode.NOT_FROZEN: 409, ErrorCode.PAPER_PENDING: 409,
    ErrorCode.PAPER_MISMATCH: 409, ErrorCode.SHEET_CONFIRMED: 409, ErrorCode.SAME_ENTRANT: 409,
    ErrorCode.NOT_OPEN: 409,
    ErrorCode.TOO_LARGE: 413, ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415, ErrorCode.RATE_LIMITED: 429,
    ErrorCode.WRONG_MEETING: 401, ErrorCode.WRONG_MODE: 409, ErrorCode.MODE_LOCKED: 409, ErrorCode.MODE_CHANGED: 409,
    ErrorCode.CREDENTIAL_REQUIRED: 403, ErrorCode.IDENTITY_CAP: 403,
    ErrorCode.MEETING_ENDED: 409, ErrorCode.SETUP_LOCKED: 409,
}


class LiveError(ValueError):
    """A refusal with a code from :class:`ErrorCode`; see the module docstring."""

    default_code: ErrorCode | str = ErrorCode.INVALID

    def __init__(self, message: str | None = None, code: ErrorCode | str | None = None, *,
                 status: int | None = None, msg_id: str | None = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        self.code = ErrorCode(code or self.default_code)
        self.message = message or self.code.default_message
        super().__init__(self.message)
        self.status = status or self.code.default_status
        self.msg_id = msg_id
        self.headers = headers
        self.extra = extra

    def with_id(self, msg_id: str | None) -> LiveError:
        """This error, answering the command ``msg_id`` (when it had none yet)."""
        if self.msg_id is None:
            self.msg_id = msg_id
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, **self.extra}


DomainError = LiveError  # the name the domain modules grew up with
