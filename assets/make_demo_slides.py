"""Generate the demo's slide decks (assets/slides/deck-N.pdf), one per presenter.

    python assets/make_demo_slides.py

The decks are committed; run this again only to change them."""

from __future__ import annotations

import json
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from live.reports.fonts import register_cjk_font

HERE = Path(__file__).resolve().parent
SIZE = (254 * mm, 142.875 * mm)  # 16:9, like a slide exported from PPT

SECTIONS = [
    ("一、履行第一责任人职责",
     ["把法治建设纳入年度工作要点，专题研究部署", "主要负责人带头学法，组织集体学法", "落实述法与考核挂钩"]),
    ("二、依法决策", ["重大行政决策目录化管理", "合法性审查、公众参与、专家论证全覆盖", "法律顾问列席重要会议"]),
    ("三、严格规范公正文明执法",
     ["推行执法公示、全过程记录、法制审核", "行政复议纠错与败诉案件逐案分析", "包容审慎监管，首违不罚"]),
    ("四、存在的问题",
     ["基层执法人员法治素养仍需提升", "部分合同合法性审查不够及时", "群众反映的个别问题整改进度偏慢"]),
    ("五、下一步打算", ["建立问题清单、责任清单、整改清单", "三个月内完成整改并接受回访", "常态化开展以案释法"]),
]


def deck(path: Path, name: str, post: str, unit: str) -> None:
    font = register_cjk_font()
    w, h = SIZE
    c = Canvas(str(path), pagesize=SIZE)
    c.setTitle(f"{name} 述法报告")
    c.setFillColorRGB(0.64, 0.09, 0.11)
    c.rect(0, 0, w, h, stroke=0, fill=1)
    c.setFillColorRGB(1, 0.93, 0.75)
    c.setFont(font, 26)
    c.drawCentredString(w / 2, h * 0.58, "2024年度履行推进法治建设第一责任人职责")
    c.drawCentredString(w / 2, h * 0.48, "述 法 报 告")
    c.setFillGray(1)
    c.setFont(font, 16)
    c.drawCentredString(w / 2, h * 0.3, f"{unit}  {post}  {name}")
    c.showPage()
    for n, (title, points) in enumerate(SECTIONS, start=2):
        c.setFillColorRGB(0.64, 0.09, 0.11)
        c.rect(0, h - 22 * mm, w, 22 * mm, stroke=0, fill=1)
        c.setFillGray(1)
        c.setFont(font, 20)
        c.drawString(12 * mm, h - 14 * mm, title)
        c.setFillGray(0.12)
        c.setFont(font, 17)
        for k, p in enumerate(points):
            c.drawString(18 * mm, h - (42 + 16 * k) * mm, f"● {p}")
        c.setFont(font, 10)
        c.setFillGray(0.4)
        c.drawRightString(w - 10 * mm, 7 * mm, f"{name} · 第 {n} 页")
        c.showPage()
    c.save()


def main() -> None:
    spec = json.loads((HERE / "demo_meeting.json").read_text(encoding="utf-8"))
    out = HERE / "slides"
    out.mkdir(exist_ok=True)
    for n, p in enumerate(spec["presenters"], start=1):
        deck(out / f"deck-{n}.pdf", p["name"], p["post"], p["unit"])


if __name__ == "__main__":
    main()
