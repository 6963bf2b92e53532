"""Ticket codes, their check character, guessing, the roster file and the printed sheets."""

from __future__ import annotations

import csv
import io
import random
import secrets

import pytest

from live.domain.credentials import (
    ALPHABET,
    CODE_BITS,
    DATA_CHARS,
    CredentialError,
    check_char,
    code_hash,
    group_code,
    new_code,
    normalise,
    parse_roster,
    pepper_from_secret,
)
from live.reports.tickets import ticket_bundle
from live.web.guess_limit import GuessLimiter

PEPPER = b"p" * 32


def test_codes_carry_55_random_bits_and_print_grouped() -> None:
    assert CODE_BITS == 55 >= 50
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for c in list(codes)[:50]:
        assert len(c) == 12 and set(c) <= set(ALPHABET)
        assert normalise(c) == c
        shown = group_code(c)
        assert shown.count("-") == 2 and len(shown) == 14


def test_reading_is_forgiving_about_case_separators_and_look_alikes() -> None:
    c = new_code()
    messy = " " + group_code(c).lower().replace("-", " - ") + " "
    assert normalise(messy) == c
    # I and L read as 1, O as 0 (Crockford): a code with 1 and 0 typed as letters still works.
    data = "10" + c[2:DATA_CHARS]
    code = data + check_char(data)
    assert normalise("lO" + code[2:]) == code == normalise("Io" + code[2:])
    assert normalise("１０" + code[2:]) == code  # full-width digits from a Chinese keyboard


def test_check_character_catches_every_single_typo() -> None:
    rnd = random.Random(7)
    for _ in range(200):
        c = new_code()
        pos = rnd.randrange(12)
        for ch in ALPHABET:
            if ch == c[pos]:
                continue
            typo = c[:pos] + ch + c[pos + 1:]
            with pytest.raises(CredentialError) as err:
                normalise(typo)
            assert err.value.code == "bad_check"


def test_check_character_catches_every_transposition() -> None:
    caught = 0
    for _ in range(300):
        c = new_code()
        for i in range(11):
            if c[i] == c[i + 1]:
                continue
            swapped = c[:i] + c[i + 1] + c[i] + c[i + 2:]
            with pytest.raises(CredentialError):
                normalise(swapped)
            caught += 1
    assert caught > 3000


def test_exhaustive_single_errors_on_one_code() -> None:
    c = new_code()
    for pos in range(12):
        for ch in ALPHABET:
            if ch != c[pos]:
                with pytest.raises(CredentialError):
                    normalise(c[:pos] + ch + c[pos + 1:])


def test_bad_input_gets_a_clear_message() -> None:
    for text, fragment in [("", "12 位"), ("ABC", "12 位"), ("K7QM-3XP9-TR2U", "不会出现「U」"), ("x" * 100, "12 位")]:
        with pytest.raises(CredentialError) as err:
            normalise(text)
        assert fragment in err.value.message


def test_100000_guesses_find_no_ticket() -> None:
    """1,000 issued tickets; 100,000 guesses, each a well-formed code with a valid check
    character (the strongest a guesser can send): none hits a stored hash."""
    issued = {code_hash(PEPPER, new_code()) for _ in range(1000)}
    hits = 0
    rnd = random.Random(secrets.randbits(64))
    for _ in range(100_000):
        bits = rnd.getrandbits(55)
        data = "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in range(DATA_CHARS))
        if code_hash(PEPPER, normalise(data + check_char(data))) in issued:
            hits += 1
    assert hits == 0
    # Random text passes the check character only one time in 32, before any lookup.
    rnd = random.Random(3)
    passed = 0
    for _ in range(20_000):
        try:
            normalise("".join(rnd.choice(ALPHABET) for _ in range(12)))
            passed += 1
        except CredentialError:
            pass
    assert 400 < passed < 850  # 20,000 / 32 = 625


def test_stored_hash_depends_on_the_pepper() -> None:
    c = new_code()
    assert code_hash(PEPPER, c) != code_hash(b"q" * 32, c)
    assert c not in code_hash(PEPPER, c)


def test_guess_limiter_backs_off() -> None:
    lim = GuessLimiter(free=3, base_s=2, max_s=60, forget_s=3600)
    for _ in range(2):
        assert lim.retry_after("k", now=0) == 0
        lim.fail("k", now=0)
    assert lim.retry_after("k", now=0) == 0
    lim.fail("k", now=0)  # the third failure: now it waits
    assert lim.retry_after("k", now=0) == 2
    assert lim.retry_after("k", now=2) == 0
    lim.fail("k", now=2)
    assert lim.retry_after("k", now=2) == 4
    for t in range(3, 20):
        lim.fail("k", now=t)
    assert lim.retry_after("k", now=19) == 60  # capped
    assert lim.retry_after("k", now=19 + 3601) == 0  # forgotten after a quiet hour
    assert lim.retry_after("other", now=19) == 0


ROSTER = ("姓名,单位,群体,手机/工号\n张三,市司法局,干部职工,13800000001\n,市司法局,干部职工,1\n"
          "李四,某社区,群众代表,13800000002\n王五,某单位,外宾,3\n张三,市司法局,干部职工,13800000001\n")


def test_roster_csv_in_gbk_keeps_good_rows_and_numbers_bad_ones() -> None:
    result = parse_roster(ROSTER.encode("gbk"), "名单.csv", ["干部职工", "群众代表"])
    assert [(v.row, v.name, v.group) for v in result.voters] == [(2, "张三", "干部职工"), (4, "李四", "群众代表")]
    assert [(e.row, e.message[:5]) for e in result.errors] == [(3, "缺少姓名"), (5, "群体「外宾"), (6, "与第 2 ")]
    # Any 群体 is taken when the scheme has a public group without categories.
    assert len(parse_roster(ROSTER.encode(), "r.csv", None).voters) == 3


def test_roster_xlsx_with_a_title_row() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["2025年干部职工民主测评名单"])
    ws.append(["序号", "姓名", "单位", "群体", "工号"])
    ws.append([1, "赵六", "市法院", "干部职工", 10086])
    buf = io.BytesIO()
    wb.save(buf)
    result = parse_roster(buf.getvalue(), "名单.xlsx", ["干部职工"])
    assert [(v.row, v.name, v.contact) for v in result.voters] == [(3, "赵六", "10086")]


def test_roster_without_a_header_is_refused_whole() -> None:
    with pytest.raises(CredentialError) as err:
        parse_roster(b"a,b\n1,2\n", "x.csv", None)
    assert err.value.code == "no_header"


def test_ticket_bundle_is_a_pdf_and_a_csv_with_the_codes_in_the_fragment() -> None:
    codes = [new_code() for _ in range(23)]
    pdf, data = ticket_bundle("测试会议", "https://live.example", "ABC234", 101, "群众代表", codes)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 3
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["编号", "票码", "群体", "投票链接"]
    assert rows[1] == ["101", group_code(codes[0]), "群众代表", f"https://live.example/j/ABC234#t={codes[0]}"]
    assert len(rows) == 24


def test_cli_writes_ticket_pdf_and_csv_and_stores_only_hashes(tmp_path: object) -> None:
    from pathlib import Path

    from sqlmodel import Session, select

    from conftest import DEMO, seed_meeting
    from live.cli import main
    from live.config import Settings
    from live.store.db import make_engine
    from live.store.models import Credential

    tmp = Path(str(tmp_path))
    settings = Settings(database_url=f"sqlite:///{tmp / 'live.db'}", secret_key="k" * 32, data_dir=tmp)
    seed = seed_meeting(settings, {**DEMO, "public_mode": "ticket"})
    import os

    os.environ["LIVE_SECRET_KEY"] = settings.secret_key
    try:
        assert main(["tickets", "create", seed.code, "12", "--group", "干部职工", "-o", str(tmp / "out"),
                     "--database-url", settings.database_url, "--public-url", "https://live.example"]) == 0
    finally:
        del os.environ["LIVE_SECRET_KEY"]
    pdf = tmp / "out" / f"tickets-{seed.code}-batch1.pdf"
    rows = list(csv.reader(io.StringIO((tmp / "out" / f"tickets-{seed.code}-batch1.csv").read_text("utf-8-sig"))))
    assert pdf.read_bytes().startswith(b"%PDF") and oct(pdf.stat().st_mode)[-3:] == "600"
    assert len(rows) == 13 and rows[1][0] == "1" and rows[1][2] == "干部职工"
    assert rows[1][3] == f"https://live.example/j/{seed.code}#t={normalise(rows[1][1])}"
    engine = make_engine(settings.database_url)
    with Session(engine) as s:
        stored = s.exec(select(Credential)).all()
    engine.dispose()
    pepper = pepper_from_secret(settings.secret_key)
    assert {c.code_hash for c in stored} == {code_hash(pepper, normalise(r[1])) for r in rows[1:]}
    assert not any(normalise(r[1]) in str(c.model_dump()) for c in stored for r in rows[1:])


def _guesses_allowed(lim: GuessLimiter, seconds: float) -> int:
    """An attacker who retries the instant the limiter lets them: how many guesses get through."""
    t, n = 0.0, 0
    while t < seconds:
        wait = lim.retry_after("k", now=t)
        if wait:
            t += wait
            continue
        lim.fail("k", now=t)
        n += 1
        t += 0.01
    return n


def test_limiter_bounds_guesses_per_address_and_per_meeting() -> None:
    """The figures docs/security.md quotes (the limits in live.web.services)."""
    from live.web.services import Services

    fields = Services.__dataclass_fields__
    ip = fields["guesses_ip"].default_factory  # type: ignore[misc]
    meeting = fields["guesses_meeting"].default_factory  # type: ignore[misc]
    assert _guesses_allowed(ip(), 3600) == 21
    assert _guesses_allowed(ip(), 24 * 3600) == 113
    assert _guesses_allowed(meeting(), 3600) == 1123
    assert _guesses_allowed(meeting(), 24 * 3600) == 3882


def test_every_printed_qr_decodes_to_its_ticket_link() -> None:
    import pypdfium2 as pdfium
    import zxingcpp

    codes = [new_code() for _ in range(14)]
    pdf, data = ticket_bundle("测试会议", "https://live.example.gov.cn", "ABC234", 1, "群众代表", codes)
    links = {row[3] for row in list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]}
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) == 2
    found = set()
    for page in doc:
        found |= {r.text for r in zxingcpp.read_barcodes(page.render(scale=2).to_pil())}
    assert found == links


def test_meeting_spec_takes_a_public_mode(tmp_path: object) -> None:
    from pathlib import Path

    from sqlmodel import Session

    from conftest import DEMO
    from live.store.db import make_engine
    from live.store.migrate import upgrade
    from live.store.models import Meeting
    from live.store.seed import SpecError, create_meeting

    engine = make_engine(f"sqlite:///{Path(str(tmp_path)) / 'm.db'}")
    upgrade(engine)
    with Session(engine) as s:
        created = create_meeting(s, {**DEMO, "public_mode": "roster"}, "pw-123456")
        m = s.get(Meeting, created.meeting_id)
        assert m is not None and m.public_mode == "roster" and "开放投票" not in m.scheme_json
        opened = create_meeting(s, DEMO, "pw-123456")
        m2 = s.get(Meeting, opened.meeting_id)
        assert m2 is not None and m2.public_mode == "open" and "开放投票（未实名）" in m2.scheme_json
        with pytest.raises(SpecError, match="未知的公众投票方式"):
            create_meeting(s, {**DEMO, "public_mode": "lottery"}, "pw-123456")
    engine.dispose()
