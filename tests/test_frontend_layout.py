"""The frontend is grouped by screen (docs/architecture.md): every page, module and stylesheet lives in a
folder of its own screen or in ``shared/``, and every path one file names for another resolves to a file
that exists. A moved or renamed file whose importers were not updated fails here, before any browser runs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
SCREENS = {"shared", "host", "screen", "audience", "panel", "presenter", "recorder", "admin", "office", "overlay",
           "public"}
UNTOUCHED = {"vendor", "fonts"}  # third-party code and the web font keep their own layout
LOOSE_OK = {"index.html", "README.md"}

# Static module specifiers: `import … from "x"`, `export … from "x"`, bare `import "x"` and `import("x")`.
JS_SPEC = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\1""")
# Absolute /static/ paths written in a string anywhere in a module (assets, lazily imported vendor code).
STATIC_IN_TEXT = re.compile(r"""["'`](/static/[^"'`\s?#]+)""")
HTML_REF = re.compile(r"""\b(?:src|href)\s*=\s*(["']?)([^"'\s>]+)\1""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")


def _own_files() -> list[Path]:
    return sorted(p for p in FRONTEND.rglob("*") if p.is_file() and p.relative_to(FRONTEND).parts[0] not in UNTOUCHED)


def _static(url: str) -> Path:
    return FRONTEND / url.removeprefix("/static/")


def references(path: Path) -> list[tuple[str, Path]]:
    """Every (as written, file it must be) that ``path`` names inside this site's frontend."""
    text = path.read_text(encoding="utf-8")
    found: list[tuple[str, Path]] = []
    if path.suffix == ".js":
        for _, spec in JS_SPEC.findall(text):
            if spec.startswith("./") or spec.startswith("../"):
                found.append((spec, (path.parent / spec).resolve()))
            elif spec.startswith("/static/"):
                found.append((spec, _static(spec)))
        found += [(url, _static(url)) for url in STATIC_IN_TEXT.findall(text)]
    elif path.suffix == ".html":
        for _, ref in HTML_REF.findall(text):
            if ref.startswith("/static/"):
                found.append((ref, _static(ref)))
            elif ref.startswith("./") or ref.startswith("../"):
                found.append((ref, (path.parent / ref).resolve()))
    elif path.suffix == ".css":
        for _, ref in CSS_URL.findall(text):
            if ref.startswith("/static/"):
                found.append((ref, _static(ref)))
            elif not re.match(r"^[a-z]+:", ref) and not ref.startswith("/"):
                found.append((ref, (path.parent / ref).resolve()))
    return found


def broken(paths: list[Path]) -> list[str]:
    out = []
    for path in paths:
        for written, target in references(path):
            if not target.is_file() or FRONTEND.resolve() not in target.resolve().parents:
                out.append(f"{path.relative_to(FRONTEND)}: {written}")
    return out


def test_every_path_a_frontend_file_names_exists() -> None:
    files = _own_files()
    assert len(files) > 40 and sum(len(references(p)) for p in files) > 100, "the scan found too little to mean much"
    assert broken(files) == []


def test_a_broken_path_is_caught() -> None:
    """The check itself: a module importing a file that is not there, a page loading a missing script."""
    host = FRONTEND / "host"
    module = host / "_probe_missing.js"
    page = host / "_probe_missing.html"
    try:
        module.write_text('import { el } from "./ui.js";\nimport { x } from "../shared/ui.js";\n', encoding="utf-8")
        page.write_text('<script type="module" src="/static/host.js"></script>\n'
                        '<link rel="stylesheet" href="/static/shared/style.css">\n', encoding="utf-8")
        assert broken([module, page]) == ["host/_probe_missing.js: ./ui.js",
                                          "host/_probe_missing.html: /static/host.js"]
    finally:
        module.unlink(missing_ok=True)
        page.unlink(missing_ok=True)


def test_files_are_grouped_by_screen() -> None:
    loose = sorted(p.name for p in FRONTEND.iterdir() if p.is_file() and p.name not in LOOSE_OK)
    assert loose == [], f"loose in frontend/: {loose}; put them in a screen's folder or shared/"
    folders = {p.name for p in FRONTEND.iterdir() if p.is_dir()}
    assert folders <= SCREENS | UNTOUCHED, folders - SCREENS - UNTOUCHED
    for must in ("client.js", "state.js", "events.gen.js", "ui.js", "style.css", "slides.js", "ballot.js", "tally.js"):
        assert (FRONTEND / "shared" / must).is_file(), must


@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_each_screen_imports_only_shared_code_or_its_own(screen: str) -> None:
    """A screen may use shared/ and its own folder; reaching into another screen's folder couples the two."""
    for path in (FRONTEND / screen).rglob("*.js"):
        for written, target in references(path):
            rel = target.resolve().relative_to(FRONTEND.resolve()).parts
            assert rel[0] in {screen, "shared", "vendor"}, f"{path.relative_to(FRONTEND)} imports {written}"
