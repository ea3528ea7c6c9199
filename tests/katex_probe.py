"""Render formulas with the very KaTeX that ``st.latex`` uses, in Chromium, without a server.

Streamlit bundles KaTeX inside its rehype-katex chunk (site-packages/streamlit/static). A blank
page imports that chunk (Playwright serves the files from disk), runs the rehype plugin on one
formula and reports KaTeX's error, if any; ``count`` bisects ``maxExpand`` to the number of macro
expansions a formula takes (what ``derivations.katex`` estimates), and ``overlap`` draws it and
measures how far matrix rows run into each other. Used by the browser tests, and to calibrate:
``python -m tests.katex_probe '\\quad' '\\dfrac{a}{b}'``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit

STATIC = Path(streamlit.__file__).parent / "static" / "static"
ORIGIN = "http://katex.invalid"

PAGE = """<!doctype html><html><head><link rel="stylesheet" href="/CSS"></head>
<body style="font-size:16px"><div id="out" style="display:inline-block;padding:8px"></div>
<script type="module">
import rehypeKatex from "/JS";
function tree(tex) {
  const code = {type: 'element', tagName: 'code',
    properties: {className: ['language-math', 'math-display']}, children: [{type: 'text', value: tex}]};
  return {type: 'root', children: [{type: 'element', tagName: 'div', properties: {}, children: [code]}]};
}
function run(tex, options) {
  const t = tree(tex);
  let error = null;
  rehypeKatex(options)(t, {message: (m, o) => { error = String((o.cause && o.cause.message) || m); }});
  return [t, error];
}
function toDom(n) {  // the hast tree KaTeX made, as DOM nodes (its SVGs in their namespace)
  if (n.type === 'text') return document.createTextNode(n.value);
  const svg = ['svg', 'path', 'line', 'g', 'rect'].includes(n.tagName);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', n.tagName)
                 : document.createElement(n.tagName);
  for (const [k, v] of Object.entries(n.properties || {})) {
    const name = k === 'className' ? 'class'
      : (svg && /^(viewBox|preserveAspectRatio)$/.test(k)) ? k : k.replace(/[A-Z]/g, c => '-' + c.toLowerCase());
    el.setAttribute(name, Array.isArray(v) ? v.join(' ') : v);
  }
  for (const c of n.children || []) el.appendChild(toDom(c));
  return el;
}
window.katexError = (tex, maxExpand) => run(tex, maxExpand == null ? {} : {maxExpand})[1];
window.katexShow = (tex) => {
  const [t, error] = run(tex, {});
  const out = document.getElementById('out');
  out.replaceChildren(...t.children[0].children.map(toDom));
  return error;
};
window.ready = true;
</script></body></html>"""

# how far the cells of a column run into the cell below, in em: > 0 is an overlap. A cell's
# extent is the union of its glyphs' boxes (text ranges), so it counts ink, not KaTeX's struts
OVERLAP = """() => {
  const worst = [];
  for (const col of document.querySelectorAll('.mtable > [class^="col-align-"]')) {
    const cells = [...col.querySelectorAll(':scope > .vlist-t > .vlist-r > .vlist > span')];
    const boxes = cells.map(c => {
      let top = Infinity, bottom = -Infinity;
      const walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
      while (walk.nextNode()) {
        const r = document.createRange();
        r.selectNodeContents(walk.currentNode);
        for (const b of r.getClientRects()) { top = Math.min(top, b.top); bottom = Math.max(bottom, b.bottom); }
      }
      const em = parseFloat(getComputedStyle(c).fontSize);
      return [top / em, bottom / em];
    }).filter(b => isFinite(b[0])).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < boxes.length; i++) worst.push(boxes[i - 1][1] - boxes[i][0]);
  }
  return worst.length ? Math.max(...worst) : null;
}"""


def _asset(pattern: str) -> Path:
    found = sorted(STATIC.glob(pattern))
    if not found:
        raise RuntimeError(f"no {pattern} under {STATIC}: has Streamlit's bundle changed?")
    return found[0]


class KatexProbe:
    """``with KatexProbe(browser) as k: k.error(tex)``: a page in ``browser`` (Playwright's)."""

    def __init__(self, browser):
        self.browser = browser
        self.files = {
            "/JS": _asset("js/rehype-katex.*.js"),
            "/CSS": _asset("css/index.*.css"),
        }

    def _route(self, route):
        path = route.request.url[len(ORIGIN) :]
        if path == "/index.html":
            return route.fulfill(body=PAGE, content_type="text/html")
        file = self.files.get(path) or STATIC / "js" / path.lstrip("/")
        if path.startswith("/media/") or path.startswith("/static/media/"):
            file = STATIC / "media" / path.rsplit("/", 1)[-1]
        kind = {"js": "text/javascript", "css": "text/css", "woff2": "font/woff2"}
        ctype = kind.get(file.suffix.lstrip("."), "application/octet-stream")
        if not file.exists():
            return route.fulfill(status=404, body="")
        return route.fulfill(body=file.read_bytes(), content_type=ctype)

    def __enter__(self):
        self.page = self.browser.new_page()
        self.page.route(f"{ORIGIN}/**", self._route)
        self.page.goto(f"{ORIGIN}/index.html")
        self.page.wait_for_function("window.ready === true", timeout=30_000)
        return self

    def __exit__(self, *exc):
        self.page.close()

    def error(self, tex: str, max_expand: int | None = None) -> str | None:
        """KaTeX's error message for ``tex`` (None when it renders)."""
        return self.page.evaluate("([t, m]) => window.katexError(t, m)", [tex, max_expand])

    def count(self, tex: str) -> int:
        """The macro expansions ``tex`` takes: the least maxExpand it renders with."""
        if err := self.error(tex, 10**7):
            raise ValueError(err)
        lo, hi = 0, 1
        while self.error(tex, hi):
            lo, hi = hi, hi * 2
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if self.error(tex, mid) else (lo, mid)
        return lo

    def overlap(self, tex: str) -> float | None:
        """Draw ``tex``; the most, in em, one array row's glyphs run into the next row's (≤ 0:
        none), or None when it has no array."""
        if err := self.page.evaluate("(t) => window.katexShow(t)", tex):
            raise ValueError(err)
        self.page.wait_for_timeout(100)
        return self.page.evaluate(OVERLAP)


def main(formulas: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from bench.serve import CHROMIUM_FLAGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        with KatexProbe(browser) as k:
            for tex in formulas:
                print(f"{k.count(tex):6d}  {tex}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
