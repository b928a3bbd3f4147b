"""Sphinx configuration of the handgrad site (docs/site.md says how to build it).

Do not run sphinx-build on docs/ directly: ``python -m tools.site build`` first lays out a
staging copy (docs/ with its source links pointed at generated code pages, and the executed
notebooks) and builds that with this file, into build/site/.
"""

project = "handgrad"
author = "handgrad"
copyright = "handgrad contributors"

extensions = [
    "myst_nb",  # Markdown (MyST) pages and Jupyter notebooks; brings myst_parser
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static/: math renders with no network
]

root_doc = "index"
# notebooks/student/: the student notebooks, offered as downloads, not rendered as pages;
# answers/: the answer key to the derivations' exercises, the instructor's, not the site's
exclude_patterns = ["_build", "conf.py", "**/.ipynb_checkpoints", "notebooks/student",
                    "answers", "answers/**"]

# Markdown: $...$ and $$...$$ as the derivations write them; headings get anchors so that
# links like layout.md#some-heading resolve.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_dmath_double_inline = True
myst_heading_anchors = 3
# tools/site.py points each link to a repository file (../../handmade/mlp.py#L186) at that
# file's generated code page, as srcline:<page>#L186 or srcfile:<page>; these two schemes
# turn it back into a plain relative link (Sphinx cannot check an anchor in a raw page:
# tests/docs/test_site.py does, in the browser).
myst_url_schemes = {
    "http": None, "https": None, "mailto": None,
    "srcline": {"url": "{{path}}#{{fragment}}", "title": "", "classes": ["source-link"]},
    "srcfile": {"url": "{{path}}", "title": "", "classes": ["source-link"]},
}

# Notebooks arrive executed (tools/notebooks.py); Sphinx only renders their outputs.
nb_execution_mode = "off"
nb_merge_streams = True

html_theme = "furo"
html_title = "handgrad"
html_static_path: list = []  # the staging copy's _static/, added in setup() below
html_css_files = ["handgrad.css"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None

# Every warning is listed by tools/site.py and fails the build: a link to a page or
# heading that does not exist is a warning, not a silent dead link; so is a page that no
# toctree above lists. One kind is not a fault: a code block that Pygments can lex only
# in relaxed mode (JSON with "..." in it) still renders, highlighted as far as it goes.
suppress_warnings = ["misc.highlighting_failure"]


def setup(app):
    """The staging copy's _static/ (tools/site.py writes handgrad.css there)."""
    import os

    app.config.html_static_path.append(os.path.join(app.srcdir, "_static"))
