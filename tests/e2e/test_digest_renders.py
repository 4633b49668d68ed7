"""The digest email in a real browser engine (headless Chromium): hostile input stays inert,
nothing overflows a phone's width or a desktop's, every section is there, in order."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flockpilot.domain.digest_email import render_html
from tests.unit.test_digest_rules import SECTIONS, hostile_report


def render(html_path: Path, width: int) -> dict[str, Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is needed for this test: `make test` installs it (apt-get install -y chromium)"
    probe = html_path.with_name(f"probe-{width}.html")
    script = (
        "<script>window.addEventListener('load',()=>{const v=window.innerWidth;"
        "const wide=[...document.querySelectorAll('body *')].filter(e=>e.getBoundingClientRect().right>v+1).length;"
        "const heads=[...document.querySelectorAll('td')].map(t=>t.textContent.trim());"
        "const links=[...document.querySelectorAll('a')].map(a=>a.href);"
        "const out=document.createElement('pre');out.id='probe';"
        "out.textContent=JSON.stringify({v,scroll:document.documentElement.scrollWidth,wide,heads,links,"
        "scripts:document.scripts.length,images:document.images.length});"
        "document.body.appendChild(out);});</script>"
    )
    probe.write_text(html_path.read_text().replace("</body>", script + "</body>"))
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={html_path.parent / f'chrome-{width}'}", f"--window-size={width},900",
         "--virtual-time-budget=3000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=90, check=True,
    ).stdout
    data = dom.split('<pre id="probe">', 1)[1].split("</pre>", 1)[0]
    return dict(json.loads(data.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")))


@pytest.mark.parametrize("width", [375, 1280])
def test_the_email_renders_inert_and_within_the_width(tmp_path: Path, width: int) -> None:
    page = tmp_path / "digest.html"
    page.write_text(render_html(hostile_report()))
    result = render(page, width)
    assert result["scroll"] <= result["v"] and result["wide"] == 0, result
    assert result["scripts"] == 1 and result["images"] == 0  # only the probe's own script
    assert all(link.startswith("https://x.com/messages/compose?") for link in result["links"])
    positions = [result["heads"].index(section) for section in SECTIONS]
    assert positions == sorted(positions)
