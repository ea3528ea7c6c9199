"""deploy/nginx.conf, the README's example for several replicas behind a reverse proxy, run for
real: two `streamlit run app.py` replicas behind nginx with that file (only its addresses
changed). A browser's requests, its page's websocket included, all reach one replica; fresh
browsers are spread over both; and a lesson works through the proxy in a real Chromium.

Skips where nginx (apt-get install nginx), Chromium or Playwright is missing."""

from __future__ import annotations

import http.cookiejar
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from bench.serve import CHROMIUM_FLAGS, ROOT, free_port, running_app

pytestmark = pytest.mark.browser

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
if not os.path.exists(NGINX):
    pytest.skip("nginx is not installed (apt-get install nginx)", allow_module_level=True)

from tests.browser_env import CHROMIUM, settle, sync_api  # noqa: E402

EXAMPLE = ROOT / "deploy" / "nginx.conf"
REPLICAS = "    server 127.0.0.1:8501;\n    server 127.0.0.1:8502;\n"


def _config(tmp: Path, port: int, replicas: list[str]) -> Path:
    """The example as it is, with these replicas and port, in a config of its own (no system
    nginx touched) that logs which replica served each request for which cookie."""
    example = EXAMPLE.read_text()
    assert REPLICAS in example and "    listen 80;\n" in example
    servers = "".join(f"    server {r};\n" for r in replicas)
    site = example.replace(REPLICAS, servers).replace("listen 80;", f"listen 127.0.0.1:{port};")
    (tmp / "site.conf").write_text(site)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\n"
        "events { worker_connections 256; }\nhttp {\n"
        "  log_format bpl '$request_uri $upstream_addr $cookie_bpl_replica';\n"
        f"  access_log {tmp}/access.log bpl;\n"
        + "".join(
            f"  {kind}_temp_path {tmp}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        + f"  include {tmp}/site.conf;\n}}\n"
    )
    return conf


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    port = free_port()
    with running_app() as a, running_app() as b:
        replicas = [u.removeprefix("http://") for u in (a, b)]
        conf = _config(tmp, port, replicas)
        nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"])
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url)
            yield url, tmp / "access.log", replicas
        finally:
            nginx.terminate()
            nginx.wait(20)


def _wait(url: str) -> None:
    end = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return
        except OSError:
            assert time.monotonic() < end, "nginx did not answer"
            time.sleep(0.3)


def _served(log: Path) -> list[tuple[str, str, str]]:
    """(path, replica, cookie) of every request nginx has logged."""
    rows = [(ln.split(" ") + ["", ""])[:3] for ln in log.read_text().splitlines()]
    return [(p, r, c) for p, r, c in rows if p]


def test_one_browser_stays_on_one_replica_and_many_are_spread(proxy):
    url, log, replicas = proxy
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    for _ in range(8):
        browser.open(f"{url}/_stcore/health", timeout=10).read()
    cookie = next(c.value for c in jar if c.name == "bpl_replica")
    for _ in range(30):  # fresh browsers: no cookie yet
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=10).read()
    served = _served(log)
    mine = {r for _, r, c in served if c == cookie}
    assert len(mine) == 1  # the first request set the cookie; the other 7 followed it
    assert {r for _, r, c in served if c in ("", "-")} == set(replicas)


def test_a_lesson_works_through_the_proxy_on_one_replica(proxy):
    url, log, _ = proxy
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 1000})
            pg.goto(f"{url}/conv2d?input_shape=4x4")
            settle(pg, "Step 1 of")
            pg.get_by_role("button", name="Next").click()
            settle(pg, "Step 2 of")
            assert pg.locator('[data-testid="stException"]').count() == 0
            cookie = next(c["value"] for c in pg.context.cookies() if c["name"] == "bpl_replica")
        finally:
            browser.close()
    served = [(path, r) for path, r, c in _served(log) if c == cookie]
    assert any(path.startswith("/_stcore/stream") for path, _ in served)  # the websocket
    assert len({r for _, r in served}) == 1
