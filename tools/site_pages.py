"""The site's pages that are not Sphinx's own: links re-targeted, code pages, offline notebooks.

``link_target``/``rewrite_markdown`` point each Markdown link to a repository file outside
docs/ and notebooks/ at a generated code page; ``code_page`` writes that page (the file
highlighted by Pygments, line ``n`` in an element with ``id="L<n>"``); ``offline_outputs``
replaces what a notebook output would fetch from the network. Used by ``tools.site``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "site"
CODE_DIR = "code"  # code pages live in <site>/code/<repository path>.html
LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")  # the target of a Markdown link or image
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
SCHEME = re.compile(r"^[A-Za-z][\w+.-]*:")
CSS = """\
.source-listing pre { line-height: 1.5; }
.source-line { display: inline-block; min-width: 100%; scroll-margin-top: 30vh; }
.source-line:target { background: var(--color-highlighted-background, #ffd); }
.source-lineno { display: inline-block; width: 4ch; margin-right: 2ch; text-align: right;
                 color: var(--color-foreground-muted, #888); text-decoration: none;
                 user-select: none; }
"""


# matplotlib's Animation.to_jshtml() links Font Awesome 4 from a CDN for its button icons;
# on the site the icons are characters instead, so the page loads nothing from elsewhere.
FONT_AWESOME = re.compile(r'<link rel="stylesheet"\s+href="https://maxcdn\.bootstrapcdn\.com/'
                          r'font-awesome/[^"]*">')
ICONS = ("<style>.fa:before{font-style:normal}.fa-flip-horizontal{display:inline-block;"
         "transform:scaleX(-1)}" + "".join(
             f".fa-{name}:before{{content:'{text}'}}" for name, text in (
                 ("minus", "\\2212"), ("plus", "+"), ("fast-backward", "|\\25C0\\25C0"),
                 ("step-backward", "|\\25C0"), ("play", "\\25B6"), ("pause", "\\275A\\275A"),
                 ("step-forward", "\\25B6|"), ("fast-forward", "\\25B6\\25B6|"))) + "</style>")


def offline_outputs(nb) -> None:
    """Replace, in every HTML output, what would load from another machine (see ICONS)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                text = "".join(data["text/html"]) if isinstance(data["text/html"], list) \
                    else data["text/html"]
                data["text/html"] = FONT_AWESOME.sub(lambda _: ICONS, text)


@dataclass
class Layout:
    """Where the inputs are, where the staging copy goes, and what it links to."""

    root: Path = ROOT
    docs: Path = ROOT / "docs"
    notebooks: Path = ROOT / "notebooks"
    stage: Path = ROOT / "build" / "site-src"
    executed: Path = ROOT / "build" / "notebooks"
    code: dict = field(default_factory=dict)  # repository path -> staged pages linking to it

    def staged(self, path: Path) -> tuple[str, Path] | None:
        """Where a repository file is staged: ("page", docs page or notebook) or ("code",
        its code page); None for a path outside the repository or leading nowhere."""
        path = Path(os.path.normpath(path))
        if not path.exists():
            return None
        if path.is_relative_to(self.docs):
            return "page", self.stage / path.relative_to(self.docs)
        if path.parent == self.notebooks and path.suffix == ".ipynb":
            return "page", self.stage / "notebooks" / path.name
        if path == self.notebooks / "README.md":
            return "page", self.stage / "notebooks" / "index.md"
        if path.is_relative_to(self.root) and path.is_file():
            return "code", self.stage / CODE_DIR / (path.relative_to(self.root).as_posix()
                                                    + ".md")
        return None


def link_target(target: str, source: Path, staged: Path, layout: Layout) -> str:
    """``target`` as written in ``source`` (a repository file), seen from ``staged``.

    Links to docs pages and notebooks become relative links between staged files (Sphinx
    resolves and checks them); a link to any other file of the repository becomes
    ``srcline:<page>.html#L<n>`` or ``srcfile:<page>.html`` (URL schemes of docs/conf.py)
    to its code page, which is recorded in ``layout.code``. A URL, an anchor, or a path
    leading nowhere stays as it is (Sphinx then warns about it).
    """
    if SCHEME.match(target) or target.startswith(("#", "/")):
        return target
    path, _, fragment = target.partition("#")
    found = layout.staged(source.parent / path) if path else None
    if found is None:
        return target
    kind, where = found
    if kind == "code":
        rel = where.relative_to(layout.stage / CODE_DIR).with_suffix("").as_posix()
        layout.code.setdefault(rel, set()).add(staged)
        page = os.path.relpath(where.with_suffix(".html"), staged.parent)
        return f"srcline:{page}#{fragment}" if fragment else f"srcfile:{page}"
    rel = os.path.relpath(where, staged.parent)
    return rel + (f"#{fragment}" if fragment else "")


def rewrite_markdown(text: str, source: Path, staged: Path, layout: Layout) -> str:
    """Every link target of ``text`` through ``link_target``; fenced code stays as it is."""
    out, fence = [], None
    for line in text.splitlines(keepends=True):
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not line.strip().strip(fence[0]):
                fence = None
            out.append(line)
        elif m:
            fence = m.group(1)
            out.append(line)
        else:
            out.append(LINK.sub(lambda k: "](" + link_target(k["target"], source, staged,
                                                             layout) + ")", line))
    return "".join(out)


def code_page(rel: str, layout: Layout) -> str:
    """A MyST page showing repository file ``rel`` highlighted, line n at ``id="L<n>"``."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_for_filename
    from pygments.util import ClassNotFound

    text = (layout.root / rel).read_text(errors="replace")
    try:
        lexer = get_lexer_for_filename(rel, stripnl=False)
    except ClassNotFound:
        lexer = TextLexer(stripnl=False)
    lines = highlight(text, lexer, HtmlFormatter(nowrap=True)).splitlines()
    lines = lines[:len(text.splitlines())]
    body = "\n".join(f'<span class="source-line" id="L{n}"><a class="source-lineno" '
                     f'href="#L{n}">{n}</a>{code}</span>' for n, code in enumerate(lines, 1))
    listing = (f'<div class="highlight source-listing"><pre>{body or "(empty file)"}'
               "</pre></div>")
    here = layout.stage / CODE_DIR / (rel + ".md")
    linked = " · ".join(
        f"[{p.relative_to(layout.stage).with_suffix('').as_posix()}]"
        f"({os.path.relpath(p, here.parent)})" for p in sorted(layout.code.get(rel, ())))
    fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", listing)), default=0))
    return (f"---\norphan: true\n---\n\n# `{rel}`\n\n"
            f"{len(text.splitlines())} lines. Linked from {linked or 'no page'}.\n\n"
            f"{fence}{{raw}} html\n{listing}\n{fence}\n")
