"""Sphinx configuration of rel's documentation site (``nox -s docs`` builds it).

Everything the pages show that comes from elsewhere in the repository is made at
build time by ``_ext/relbuild.py``: the migration page from
``packages/rel/DEVIATIONS.md``, the performance tables and charts from
``_data/bench.json``, the engine diagram from ``diagrams/engine.dot``.
"""

from __future__ import annotations

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "_ext"))

project = "rel"
author = "rel's developers"
copyright = "rel's developers"
try:
    from rel_core import __version__ as release
except ImportError:  # the packages are not installed: the API pages will say so
    release = "unknown"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "relbuild",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "tests", "Thumbs.db", ".DS_Store"]
root_doc = "index"

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- the API reference --------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options: dict = {}  # each directive says which members it shows
autodoc_preserve_defaults = True

# -- cross-references: every one must resolve --------------------------------------------
nitpicky = True
nitpick_ignore_regex = [
    # Private names (a leading underscore) that type hints and base classes show:
    # the reference documents public names only.
    (r"py:.*", r"(.*\.)?_[A-Za-z].*"),
    # Engine modules for contributors ("How the engine works" describes them), which
    # docstrings name but the reference does not document.
    (r"py:.*", r"rel_core\.(asyncio_registrar|iotable|logs|calls|signals|timerheap|wakeup)(\..*)?"),
    (r"py:.*", r"rel_util\.redis_bus(\..*)?"),
    # listener.py's short name for rel_core.registrar.Registrar, and its alias for
    # "an int fd or an object with fileno()" in the watchers' signatures.
    ("py:class", "Registrar|FileLike"),
    # The debug mode's Diagnostics object: what enable() returns, not for users' hands.
    ("py:.*", r"(rel_core\.debug\.)?Diagnostics(\..*)?|install"),
]

# Python's objects inventory, where one is on this machine (Debian's python3.X-doc,
# or REL_DOCS_PYTHON_INV): the build fetches nothing. Without one, references to
# the standard library are shown as code, unlinked (relbuild's missing-reference
# handler), and nothing else changes.
_inventories = [os.environ.get("REL_DOCS_PYTHON_INV", "")] + sorted(
    glob.glob("/usr/share/doc/python3*/html/objects.inv"), reverse=True)
_python_inv = next((p for p in _inventories if p and os.path.exists(p)), None)
intersphinx_mapping = {"python": ("https://docs.python.org/3", _python_inv)} if _python_inv else {}
intersphinx_timeout = 1

# -- doctest ----------------------------------------------------------------------------
doctest_global_setup = """
import rel_core as rel
"""
doctest_test_doctest_blocks = ""  # only the {doctest} blocks of the pages, not docstrings

# -- HTML -------------------------------------------------------------------------------
html_theme = "furo"
html_title = "rel %s" % release
html_static_path = ["_static"]
html_css_files = ["rel.css"]
html_theme_options = {
    "source_repository": "https://github.com/bubbleboy14/registeredeventlistener",
    "source_branch": "main",
    "source_directory": "docs/",
}
