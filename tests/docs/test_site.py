"""The site (``python -m tools.site build``) as a reader sees it, in headless Chromium.

Every page is loaded from a server on 127.0.0.1, 1280 px wide, and fails on: a MathJax
error, a formula left untypeset or raw TeX in the text, a display formula wider than the
column it sits in (cut behind a scrollbar), a link whose text is a raw file name
("layout.md"), a link to a missing page or anchor, an image that did not load, a console
error or uncaught exception, an HTTP error, or a request to another machine (no host name
resolves in this Chromium). A copy of a page with one planted fault
of each kind shows each being reported. Every derivation page shows at least one picture,
and every notebook page shows each exercise's blank with its solution in a closed fold
that opens on a click. Chromium: $HANDGRAD_CHROMIUM or Debian's
/usr/bin/chromium, driven by playwright (the ``docs`` extra); without them the tests skip
and say why, unless HANDGRAD_SITE_CHECK=required (.ci/run sets it once Chromium is there).
The whole file runs only where HANDGRAD_SITE_CHECK is set (``1``, or ``required``): .ci/run
runs it in a step of its own after building the site, so that the README's test command
stays within its three minutes.
"""

import contextlib
import functools
import http.server
import importlib.util
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def _unavailable(reason: str):
    if os.environ.get("HANDGRAD_SITE_CHECK") == "required":
        pytest.fail(f"HANDGRAD_SITE_CHECK=required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def built():
    """build/site, rebuilt unless it is fresh (same inputs, no warnings)."""
    if not os.environ.get("HANDGRAD_SITE_CHECK"):
        pytest.skip("the browser tier (the site, the PDF) runs where HANDGRAD_SITE_CHECK is set: "
                    ".ci/run sets it after building the site; by hand: python -m tools.site "
                    "build, then HANDGRAD_SITE_CHECK=1 pytest tests/docs/test_site.py "
                    "tests/docs/test_pdf.py")
    missing = [m for m in ("sphinx", "myst_nb", "furo") if importlib.util.find_spec(m) is None]
    if missing:
        _unavailable(f"the site's packages are not installed ({', '.join(missing)}): "
                     "pip install -e '.[docs]'")
    from tools import site

    if site.is_fresh():
        return site.OUT, []
    result = site.build(log=lambda _: None)
    return result.out, result.warnings


@pytest.fixture(scope="module")
def browser():
    if importlib.util.find_spec("playwright") is None:
        _unavailable("playwright is not installed: pip install -e '.[docs]'")
    chromium = os.environ.get("HANDGRAD_CHROMIUM") or next(
        (c for c in CHROMIUMS if os.access(c, os.X_OK)), None)
    if not chromium or not os.access(chromium, os.X_OK):
        _unavailable(f"no Chromium found (HANDGRAD_CHROMIUM={chromium!r}, "
                     f"{', '.join(CHROMIUMS)}): apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # no name resolves, so no request can leave the machine; new_page() logs any attempt
        b = p.chromium.launch(executable_path=chromium, headless=True, args=[
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        yield b
        b.close()


@contextlib.contextmanager
def serve(folder: Path):
    """An HTTP server for ``folder`` on 127.0.0.1 (a free port); yields its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 - the browser asks for an icon the site has not got
            if self.path == "/favicon.ico":
                self.send_response(204)
                self.end_headers()
            else:
                super().do_GET()

    handler = functools.partial(Quiet, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


@functools.cache
def anchors(path: Path) -> frozenset:
    """Every id and name in the page at ``path``."""
    return frozenset(re.findall(r'\s(?:id|name)="([^"]+)"', path.read_text(errors="replace")))


# Runs in the page once it has loaded: waits for MathJax and the images, then reports.
INSPECT = """async () => {
  const wait = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise)
    await wait(MathJax.startup.promise, 20000);
  await Promise.all([...document.images].map(img => img.complete ? null : wait(
    new Promise(r => { img.onload = r; img.onerror = r; }), 10000)));
  const out = {merror: [], untypeset: [], raw: [], images: [], links: [], math: 0, pictures: 0,
               wide: [], displays: 0, filenames: []};
  const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
  for (const item of (doc && doc.math) || []) {
    const err = item.typesetRoot && item.typesetRoot.querySelector('mjx-merror');
    if (err) out.merror.push(`${err.getAttribute('data-mjx-error')} in ${item.math}`);
  }
  for (const el of document.querySelectorAll('mjx-merror'))
    if (!out.merror.length) out.merror.push(el.getAttribute('data-mjx-error'));
  for (const el of document.querySelectorAll('.math')) {
    if (el.querySelector('mjx-container')) out.math++;
    else out.untypeset.push(el.textContent.trim().slice(0, 80));
  }
  const skip = 'pre, code, script, style, textarea, mjx-container, .highlight';
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const t = n.textContent;
    if (n.parentElement.closest(skip)) continue;
    const m = t.match(/\\$\\$|\\$[^$]*\\\\[a-zA-Z]+[^$]*\\$|\\\\[([]/);
    if (m) out.raw.push(t.slice(Math.max(0, m.index - 20), m.index + 60).trim());
  }
  // a display formula's typeset width against the width of the block it sits in (the
  // text column, or a notebook cell): wider means cut behind a scrollbar
  for (const box of document.querySelectorAll('mjx-container[display="true"]')) {
    const math = box.querySelector('mjx-math');
    const block = box.closest('div.math, .math-wrapper, p, li, td, div') || box.parentElement;
    const column = block.parentElement.closest('article, .cell_output, div.cell') || block;
    const style = getComputedStyle(column);
    const room = column.clientWidth - parseFloat(style.paddingLeft)
      - parseFloat(style.paddingRight);
    const width = math ? math.getBoundingClientRect().width : 0;
    out.displays++;
    if (width > room + 1) {
      const item = [...((doc && doc.math) || [])].find(i => i.typesetRoot === box);
      const tex = item ? item.math.trim().replace(/\\s+/g, ' ').slice(0, 70) : '?';
      out.wide.push(`${Math.round(width)} px in a ${Math.round(room)} px column: ${tex}`);
    }
  }
  for (const a of document.querySelectorAll('article a[href]')) {
    const text = a.textContent.trim();
    if (/^[\\w./-]+\\.(md|ipynb|rst|html)$/.test(text)) out.filenames.push(text);
  }
  for (const img of document.images)
    if (!img.naturalWidth) out.images.push(img.getAttribute('src')); else out.pictures++;
  for (const a of document.querySelectorAll('a[href]')) out.links.push(a.href);
  return out;
}"""


def check_page(page, base: str, site: Path, rel: str) -> tuple[list[str], dict]:
    """The problems of page ``rel`` (path under ``site``) as one line each; and the report."""
    problems: list[str] = []
    say = problems.append
    handlers = {
        "console": lambda m: m.type == "error" and say(f"{rel}: console error: {m.text}"),
        "pageerror": lambda e: say(f"{rel}: page error: {e}"),
        "response": lambda r: r.status >= 400 and say(f"{rel}: HTTP {r.status} for {r.url}"),
    }
    for event, handler in handlers.items():
        page.on(event, handler)
    try:
        page.goto(base + rel, wait_until="load")
        report = page.evaluate(INSPECT)
    finally:
        for event, handler in handlers.items():
            page.remove_listener(event, handler)
    problems += [f"{rel}: MathJax error: {e}" for e in report["merror"]]
    problems += [f"{rel}: formula not typeset: {t}" for t in report["untypeset"]]
    problems += [f"{rel}: raw TeX left in the text: {t!r}" for t in report["raw"]]
    problems += [f"{rel}: image did not load: {src}" for src in report["images"]]
    problems += [f"{rel}: display formula wider than its column: {w}" for w in report["wide"]]
    problems += [f"{rel}: link text is a file name: {t}" for t in report["filenames"]]
    for href in dict.fromkeys(report["links"]):
        if href.startswith(base):
            why = broken(site, href[len(base):])
            if why:
                say(f"{rel}: broken link {href[len(base):]} ({why})")
    return problems, report


def broken(site: Path, url: str) -> str | None:
    """Why the site-relative ``url`` leads nowhere, or None when its file and anchor exist."""
    parts = urlsplit(url)
    path = site / unquote(parts.path)
    if parts.path == "" or parts.path.endswith("/"):
        path = path / "index.html"
    if not path.is_file():
        return f"no file {path.relative_to(site)}"
    if parts.fragment and path.suffix == ".html" and unquote(parts.fragment) not in anchors(
            path):
        return f"no id {parts.fragment!r} in {path.relative_to(site)}"
    return None


def new_page(browser, offline_log: list):
    """A page that logs each request to a host other than 127.0.0.1 (none resolves)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("request", lambda r: urlsplit(r.url).scheme in ("http", "https")
            and urlsplit(r.url).hostname != "127.0.0.1" and offline_log.append(r.url))
    return page


def pages_of(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith(("_static", "_sources")))


def test_the_site_builds_without_warnings(built):
    _, warnings = built
    assert not warnings, "the site build warned:\n" + "\n".join(warnings)


def test_every_page_loads_clean_in_chromium(browser, built):
    site, _ = built
    pages = pages_of(site)
    assert "derivations/backprop.html" in pages and "index.html" in pages
    assert not [p for p in pages if p.startswith("answers/")], "the answer key is on the site"
    off: list[str] = []
    page = new_page(browser, off)
    problems, typeset, pictures = [], {}, {}
    with serve(site) as base:
        for rel in pages:
            found, report = check_page(page, base, site, rel)
            problems += found + [f"{rel}: request off this machine: {u}" for u in off]
            off.clear()
            typeset[rel], pictures[rel] = report["math"], report["pictures"]
            if rel == "derivations/backprop.html":
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / "derivation.png"))
        notebooks = [p for p in pages if p.startswith("notebooks/") and p != "notebooks/index.html"]
        if notebooks:
            shot_notebook(page, base + notebooks[0])
    page.close()
    assert not problems, f"{len(problems)} problem(s) in the site:\n" + "\n".join(problems)
    assert all(typeset[f"derivations/{d}.html"] >= 20 for d in ("backprop", "activations")), \
        "the derivations hold fewer typeset formulas than they should"
    assert not notebooks or any(pictures[p] for p in notebooks), "no notebook shows a picture"
    derivations = [p for p in pages if p.startswith("derivations/")
                   and p != "derivations/README.html"]
    assert len(derivations) == 8
    # each picture that did not load (naturalWidth 0) is a problem above; here each page
    # must show at least one that did
    assert [p for p in derivations if not pictures[p]] == [], "derivation pages without a picture"


def shot_notebook(page, url: str) -> None:
    """A screenshot of the notebook's first picture with the code above it, if any."""
    page.goto(url, wait_until="load")
    page.evaluate(INSPECT)
    img = page.query_selector(".cell_output img")
    if img:
        page.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top"
                      " + window.scrollY - 350)", img)
    page.screenshot(path=str(SHOTS / "notebook.png"))


def test_each_code_link_lands_on_its_source_line(built):
    """Line n of a code page holds line n of the file, for every #L<n> a derivation links."""
    import html

    from tools import doclinks

    site, _ = built
    links = {(m["path"], int(m["line"])) for doc in doclinks.DOCS.glob("*.md")
             for m in doclinks.CODE.finditer(doc.read_text())}
    assert len(links) >= 30
    for path, n in sorted(links):
        page = (site / "code" / (path + ".html")).read_text()
        shown = re.search(rf'<span class="source-line" id="L{n}">(.*?)</span>(?:\n|</pre>)',
                          page)
        assert shown, f"code/{path}.html has no line {n}"
        text = html.unescape(re.sub(r"<[^>]+>", "", shown.group(1)))
        assert text == f"{n}" + (ROOT / path).read_text().splitlines()[n - 1], (path, n)


def test_search_finds_the_derivation(browser, built):
    site, _ = built
    page = new_page(browser, off := [])
    with serve(site) as base:
        page.goto(base + "search.html?q=backpropagation", wait_until="load")
        page.wait_for_selector("#search-results ul.search li a", timeout=20000)
        hits = page.eval_on_selector_all("#search-results ul.search li a",
                                         "els => els.map(a => a.getAttribute('href'))")
    page.close()
    assert any(h.startswith("derivations/backprop.html") for h in hits), hits
    assert not off


PLANTED = {
    "broken link": '<a href="nowhere.html">x</a><a href="#no-such-heading">y</a>',
    "bad formula": '<span class="math notranslate nohighlight">\\(\\frac{1}\\)</span>',
    "unbalanced formula": '<span class="math notranslate nohighlight">\\(\\frac{1}{\\)</span>',
    "raw TeX": "<p>left as text: $\\alpha + 1$</p>",  # MathJax reads \\( \\) and $$, not $
    "wide formula": '<div class="math notranslate nohighlight">\\[' + " + ".join(
        f"x_{{{i}}}" for i in range(120)) + "\\]</div>",
    "file name link": '<p><a href="layout.html">layout.md</a></p>',
    "missing image": '<img src="missing.png" alt="planted">',
    "script error": "<script>throw new Error('planted fault')</script>",
    "network": '<script src="https://example.org/planted.js"></script>',
}


def test_the_check_reports_each_planted_fault(browser, built, tmp_path):
    site, _ = built
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    page_file = copy / "derivations" / "backprop.html"
    text = page_file.read_text()
    page_file.write_text(text.replace("</article>", "".join(PLANTED.values()) + "</article>", 1))
    page = new_page(browser, off := [])
    with serve(copy) as base:
        problems, _ = check_page(page, base, copy, "derivations/backprop.html")
    problems += [f"request off this machine: {u}" for u in off]
    page.close()
    text = "\n".join(problems)
    for expected in ("broken link derivations/nowhere.html (no file derivations/nowhere.html)",
                     "broken link derivations/backprop.html#no-such-heading (no id",
                     "MathJax error: Missing argument for \\frac in \\frac{1}",
                     "formula not typeset: \\(\\frac{1}{\\)",
                     "raw TeX left in the text: 'left as text: $\\\\alpha + 1$'",
                     "image did not load: missing.png", "HTTP 404",
                     "display formula wider than its column:",
                     "link text is a file name: layout.md",
                     "request off this machine: https://example.org/planted.js",
                     "page error: planted fault"):
        assert expected in text, f"{expected!r} not reported; got:\n{text}"


def test_the_notebooks_page_offers_each_student_version(built):
    """Each notebook's student version (tools.student) is a download on the Notebooks page,
    its answer cells blank."""
    import nbformat

    from tools import student
    from tools.notebooks import notebook_paths

    site, _ = built
    page = (site / "notebooks" / "index.html").read_text()
    links = dict(re.findall(r'href="\.\./(_downloads/[^"]+/([^"/]+\.ipynb))"', page))
    links = {name: path for path, name in links.items()}
    for path in notebook_paths():
        assert path.name in links, f"no download of the student {path.name}"
        nb = nbformat.read(site / links[path.name], as_version=4)
        blanks = [c.source for c in nb.cells if student.is_solution(c)]
        assert blanks and all(s.startswith(student.HEADER) for s in blanks), path.name


# Runs in a notebook page: each solution's fold (tools.student.folded), with the blank cell
# before it, whether the fold is open and whether its code can be seen.
FOLDS = """() => [...document.querySelectorAll('div.cell.tag_solution')].map(cell => {
  const fold = cell.querySelector('details');
  const code = cell.querySelector('.cell_input pre');
  const blank = cell.previousElementSibling;
  return {fold: !!fold, open: !!(fold && fold.open),
          seen: !!(code && code.checkVisibility()), code: code ? code.innerText : '',
          blank: blank && blank.matches('div.cell.tag_exercise-blank')
                 ? blank.querySelector('pre').innerText : null};
})"""


def solution_line(source: str) -> str:
    """The last line of a solution that carries code, as the page shows it."""
    return [line for line in source.splitlines()
            if line.strip() and not line.lstrip().startswith("#")][-1].strip()


def test_each_solution_is_folded_below_its_blank(browser, built):
    """A notebook page shows each exercise's blank, and under it the solution in a fold that
    is closed when the page loads and shows the solution's code once opened."""
    import nbformat

    from tools import student
    from tools.notebooks import notebook_paths

    site, _ = built
    page = new_page(browser, off := [])
    with serve(site) as base:
        for path in notebook_paths():
            solutions = [c.source for c in nbformat.read(path, as_version=4).cells
                         if student.is_solution(c)]
            page.goto(base + f"notebooks/{path.stem}.html", wait_until="load")
            closed = page.evaluate(FOLDS)
            assert len(closed) == len(solutions) > 0, path.name
            for i, (fold, source) in enumerate(zip(closed, solutions)):
                where = f"{path.name}, exercise {i + 1}"
                assert fold["fold"] and not fold["open"] and not fold["seen"], where
                assert fold["blank"] and fold["blank"].startswith(student.HEADER), where
                assert solution_line(source) not in fold["blank"], where
            for summary in page.query_selector_all("div.cell.tag_solution details > summary"):
                summary.click()
            opened = page.evaluate(FOLDS)
            for i, (fold, source) in enumerate(zip(opened, solutions)):
                where = f"{path.name}, exercise {i + 1}"
                assert fold["open"] and fold["seen"], where
                assert solution_line(source) in fold["code"], where
    page.close()
    assert not off
