"""A printable handgrad: every page of the site in one PDF, its formulas typeset.

    python -m tools.pdf [--out build/handgrad.pdf]

1. Stage the site's sources as ``python -m tools.site build`` does (build/site-src/, the
   notebooks executed or reused from build/notebooks/).
2. Run Sphinx's ``singlehtml`` builder on them into build/pdf-html/: every page of the
   site's table of contents, in its order, as one HTML page.
3. Open that page in headless Chromium (playwright, as tests/docs/test_site.py does), wait
   until MathJax has typeset every formula and every picture has loaded, and print it to
   PDF (A4, backgrounds on).

Chromium: $HANDGRAD_CHROMIUM or /usr/bin/chromium. tests/docs/test_pdf.py checks that
every page is in the PDF and that no raw TeX is left in its text.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from handgrad.bookkeeping.atomic import atomic_path
from tools import site
from tools.site_pages import ROOT, Layout

HTML = ROOT / "build" / "pdf-html"
PDF = ROOT / "build" / "handgrad.pdf"
CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
PRINT_CSS = """
@media print {
  .sidebar-drawer, .toc-drawer, .mobile-header, .related-pages, .bottom-of-page, .skip-to-content,
  .back-to-top, .theme-toggle-container, .content-icon-container, footer {
    display: none !important;
  }
  .page, .main, .content { display: block !important; width: auto !important; }
  article { max-width: none !important; }
  mjx-container[display="true"] { overflow: visible !important; }
  img { max-width: 100% !important; page-break-inside: avoid; }
}
"""
# waits for MathJax and the pictures; returns how many formulas were typeset
TYPESET = """async () => {
  const wait = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise)
    await wait(MathJax.startup.promise, 120000);
  await Promise.all([...document.images].map(img => img.complete ? null : wait(
    new Promise(r => { img.onload = r; img.onerror = r; }), 20000)));
  return document.querySelectorAll('mjx-container').length;
}"""


def chromium() -> str:
    found = os.environ.get("HANDGRAD_CHROMIUM") or next(
        (c for c in CHROMIUMS if os.access(c, os.X_OK)), None)
    if not found:
        raise FileNotFoundError(f"no Chromium found (HANDGRAD_CHROMIUM, {', '.join(CHROMIUMS)})"
                                ": apt-get install chromium")
    return found


def single_html(out: Path = HTML, layout: Layout | None = None, log=print) -> Path:
    """Stage the site and build it as one page; returns the page's path."""
    layout = layout or Layout()
    site.stage(layout, log)
    cmd = [sys.executable, "-m", "sphinx", "-b", "singlehtml", "-q", "--keep-going",
           "-c", str(layout.docs), "-d", str(out.parent / (out.name + "-doctrees")),
           str(layout.stage), str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    page = out / "index.html"
    if run.returncode or not page.is_file():
        raise RuntimeError(f"sphinx singlehtml failed ({run.returncode}): "
                           f"{run.stderr.strip()[-2000:]}")
    return page


@contextlib.contextmanager
def serve(folder: Path):
    """``folder`` over HTTP on 127.0.0.1 (a free port); yields the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


def print_pdf(html: Path, out: Path) -> int:
    """Print the page ``html`` to ``out`` once its formulas are typeset; returns their count."""
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with serve(html.parent) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=[
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.goto(base + html.name, wait_until="load", timeout=120000)
        page.add_style_tag(content=PRINT_CSS)
        formulas = page.evaluate(TYPESET)
        with atomic_path(out) as tmp:  # no half-written PDF, no temporary left on failure
            page.pdf(path=str(tmp), format="A4", print_background=True,
                     margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"})
        browser.close()
    return formulas


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.pdf",
                                     description="Print the handgrad site to one PDF.")
    parser.add_argument("--out", type=Path, default=PDF, help="the PDF (build/handgrad.pdf)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    html = single_html()
    formulas = print_pdf(html, args.out)
    size = args.out.stat().st_size / 1e6
    print(f"{args.out}: {size:.1f} MB, {formulas} formulas typeset, "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
