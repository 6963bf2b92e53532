"""Error answers: a styled Chinese page with a way back for people, JSON for API calls; no bare 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import Seed, login
from live.config import Settings
from live.reports import fonts
from live.web.app import create_app

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def assert_error_page(resp: object, status: int, *words: str) -> None:
    assert resp.status_code == status  # type: ignore[attr-defined]
    assert resp.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    html = resp.text  # type: ignore[attr-defined]
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<html lang="zh-CN">' in html and "/static/shared/style.css" in html
    assert 'href="/"' in html and "返回首页" in html  # a way back
    for w in words:
        assert w in html, w


@pytest.mark.parametrize("path", ["/j/ZZZZZZ", "/host/ZZZZZZ", "/screen/ZZZZZZ", "/presenter/ZZZZZZ"])
def test_a_wrong_meeting_code_gets_the_styled_page(client: TestClient, path: str) -> None:
    assert_error_page(client.get(path, headers=BROWSER), 404, "会议码不存在")


def test_an_unknown_page_is_a_styled_404_and_an_api_call_gets_json(client: TestClient, seed: Seed) -> None:
    assert_error_page(client.get("/no/such/page", headers=BROWSER), 404, "没有这个页面")
    api = client.get("/api/no/such/thing")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert client.get(f"/screen/{seed.code}").status_code == 200
    assert client.get(f"/host/{seed.code.lower()}").status_code == 200


def test_an_unhandled_error_is_a_page_or_json_never_bare(settings: Settings) -> None:
    app = create_app(settings)

    async def boom(request: object) -> None:
        raise RuntimeError("a bug")

    app.router.routes.insert(0, Route("/boom", boom))
    app.router.routes.insert(0, Route("/api/boom", boom))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert_error_page(c.get("/boom", headers=BROWSER), 500, "服务器处理请求时出错")
        api = c.get("/api/boom")
        assert api.status_code == 500 and api.json()["error"]["code"] == "internal"
        assert "a bug" not in api.text and "Traceback" not in api.text


def test_printables_without_a_font_say_so_in_chinese(client: TestClient, seed: Seed,
                                                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    login(client, seed)
    monkeypatch.setattr(fonts, "SHIPPED_FONT", tmp_path / "gone.ttf")
    for what in ("panel-cards", "join-poster"):
        url = f"/api/meetings/{seed.code}/print/{what}.pdf"
        assert_error_page(client.get(url, headers=BROWSER), 503, "内置中文字体")
        api = client.get(url)
        assert api.status_code == 503 and api.json()["error"]["code"] == "no_font"
        assert "内置中文字体" in api.json()["error"]["message"]
