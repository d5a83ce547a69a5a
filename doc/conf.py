"""Sphinx configuration of the sklearn_hash documentation.

Build (offline, warnings are errors)::

    pip install -e ".[doc]"
    sphinx-build -W doc doc/_build/html

The build never touches the network: the gallery runs on the embedded data
and links to other projects' docs (intersphinx) are off unless
``SKLEARN_HASH_DOC_INTERSPHINX=1`` is set. ``SKLEARN_HASH_DOC_PLOT=0``
builds without executing the gallery (a quick check of the prose).
"""

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path

from sphinx.util import logging

import sklearn_hash
from sklearn_hash._discovery import public_modules

DOC_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DOC_DIR / "sphinxext"))

project = "sklearn_hash"
author = "the sklearn_hash developers"
copyright = "sklearn_hash developers, BSD-3-Clause"
release = sklearn_hash.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# MathJax is loaded from a CDN by default, so formulas show as raw TeX on a machine
# without network; sphinx-mathjax-offline (in the doc extra) serves a bundled copy.
if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
    extensions.append("sphinx-mathjax-offline")

templates_path = ["templates"]
exclude_patterns = [
    "_build",
    "templates",
    "auto_examples/*.ipynb",
    "**.ipynb_checkpoints",
]
root_doc = "index"
default_role = "literal"

# -- API reference -----------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# Public modules whose ``__all__`` the API reference (api.rst) must list in full:
# one rule, shared with tests/test_docstrings.py (no leading underscore).
PUBLIC_MODULES = public_modules()

# -- Gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "abort_on_example_error": True,
    "reference_url": {"sklearn_hash": None},
    "doc_module": ("sklearn_hash",),
    "backreferences_dir": "generated/backreferences",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "plot_gallery": os.environ.get("SKLEARN_HASH_DOC_PLOT", "True"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
}

# -- Links to other projects (off by default: the build must work offline) ----
if os.environ.get("SKLEARN_HASH_DOC_INTERSPHINX", "0") not in ("", "0"):
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
    }

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_hash {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
}
# Pages without sub-pages get no empty left sidebar; gallery examples get the width
# (their code lines are up to 88 characters).
html_sidebars = {
    page: []
    for page in [
        "index",
        "install",
        "quick_start",
        "user_guide",
        "benchmarks",
        "references",
        "auto_examples/plot_*",
    ]
}
html_show_sourcelink = False
html_copy_source = False


# -- Benchmarks page: benchmarks/RESULTS.md rendered as reStructuredText -------------
RESULTS_MD = DOC_DIR.parent / "benchmarks" / "RESULTS.md"
RESULTS_INC = DOC_DIR / "generated" / "benchmark_results.rst.inc"
_HEADING_CHARS = {2: "=", 3: "-", 4: "~", 5: "^"}


def _inline_markdown_to_rst(text):
    """Code spans, links and ``@`` of markdown text, as reStructuredText."""
    text = text.replace("@", "\\@")

    def literal(match):
        before = match.string[match.start() - 1] if match.start() else " "
        after = match.string[match.end()] if match.end() < len(match.string) else " "
        opening = "\\ " if before.isalnum() else ""
        closing = "\\ " if after.isalnum() or after in "(`" else ""
        return opening + "``" + match.group(1).replace("\\@", "@") + "``" + closing

    text = re.sub(r"`([^`]+)`", literal, text)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`__", text)


def _table_to_rst(rows):
    """A markdown table (list of lines) as a csv-table directive."""
    cells = [[c.strip() for c in row.strip().strip("|").split("|")] for row in rows]
    header, body = cells[0], cells[2:]
    width = len(header)

    def csv_line(row):
        row = (row + [""] * width)[:width]
        return ", ".join(
            '"' + _inline_markdown_to_rst(c).replace('"', '""') + '"' for c in row
        )

    out = [".. csv-table::", "   :header-rows: 1", "   :class: benchmark-table", ""]
    out += ["   " + csv_line(header)] + ["   " + csv_line(r) for r in body]
    return out + [""]


def markdown_results_to_rst(markdown):
    """Convert the subset of markdown used by RESULTS.md to reStructuredText.

    Headings (the top-level title is dropped: the page has its own), paragraphs,
    bullet lists, fenced code blocks, tables, code spans, bold and links.
    """
    lines = markdown.splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"^(#{1,5})\s+(.*)$", line)
        if line.startswith("```"):
            language = line[3:].strip() or "text"
            out += [f".. code-block:: {language}", ""]
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append("   " + lines[i] if lines[i].strip() else "")
                i += 1
            out.append("")
        elif heading:
            level, title = len(heading.group(1)), heading.group(2).strip()
            if level > 1:
                title = _inline_markdown_to_rst(title)
                out += ["", title, _HEADING_CHARS[level] * len(title), ""]
        elif line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(lines[i])
                i += 1
            out += [""] + _table_to_rst(rows)
            continue
        elif line.strip():
            block = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not re.match(r"^(#{1,5}\s|```|\s*\|)", lines[i])
            ):
                block.append(lines[i])
                i += 1
            out += _inline_markdown_to_rst("\n".join(block)).split("\n")
            continue
        else:
            out.append("")
        i += 1
    return "\n".join(out) + "\n"


def _write_benchmark_results(app):
    RESULTS_INC.parent.mkdir(parents=True, exist_ok=True)
    text = markdown_results_to_rst(RESULTS_MD.read_text(encoding="utf-8"))
    if not RESULTS_INC.exists() or RESULTS_INC.read_text(encoding="utf-8") != text:
        RESULTS_INC.write_text(text, encoding="utf-8")


def _check_api_reference(app):
    """Warn (an error under ``-W``) if a public name is missing from api.rst."""
    logger = logging.getLogger(__name__)
    text = (DOC_DIR / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s{3,}(\w+)\s*$", text, flags=re.MULTILINE))
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            if name not in listed:
                logger.warning(
                    "%s.%s is public but missing from doc/api.rst; add it to the "
                    "autosummary list of its module",
                    module_name,
                    name,
                )


def _skip_members_not_ours(app, what, name, obj, skip, options):
    """Document the methods a class defines or inherits from sklearn_hash only.

    Classes are documented with ``:inherited-members:`` so that methods of our base
    classes (``BaseHasher.transform``) appear; what comes from scikit-learn
    (``get_params``, ``set_output``, the generated ``set_{method}_request``) is
    scikit-learn's to document, and its docstrings link into scikit-learn's guide.
    """
    if what != "class":
        return skip
    function = obj.fget if isinstance(obj, property) else obj
    function = getattr(function, "__func__", function)
    module = getattr(function, "__module__", None) or ""
    if not module.startswith("sklearn_hash"):
        return True
    return skip


def _fix_docstring_markup(app, what, name, obj, options, lines):
    """Two reStructuredText pitfalls of plain-text docstrings, fixed for rendering.

    - ``recall@10`` in prose would become a mailto link (docutils recognises bare
      e-mail addresses): the ``@`` is escaped outside literals and doctest lines.
    - ``(n_features_in_,)`` in shapes reads as a hyperlink reference: quoted, as
      scikit-learn writes it in its docstrings.
    """
    for i, line in enumerate(lines):
        if line.lstrip().startswith((">>>", "...")):
            continue
        # Even-numbered pieces are outside ``literal`` / `role` spans.
        pieces = re.split(r"(``.*?``|`[^`]*`)", line)
        for j in range(0, len(pieces), 2):
            piece = re.sub(r"(?<=[\w)])@(?=\w)", r"\\@", pieces[j])
            pieces[j] = re.sub(r"(?<![`\w])(n_features_in_)(?=,\))", r"``\1``", piece)
        lines[i] = "".join(pieces)


def setup(app):
    app.connect("builder-inited", _check_api_reference)
    app.connect("builder-inited", _write_benchmark_results)
    app.connect("autodoc-skip-member", _skip_members_not_ours)
    app.connect("autodoc-process-docstring", _fix_docstring_markup)
