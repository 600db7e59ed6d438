"""Sphinx configuration of crnn's documentation.

Build it, from the repository's root, with::

    python -m pip install -e ".[docs]"
    sphinx-build -W --keep-going -b html docs docs/_build/html

The API pages import the installed crnn (its compiled extensions included).
"""

import os
import sys

import crnn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

# -- project -----------------------------------------------------------------------------
project = "crnn"
author = "The crnn developers"
copyright = "The crnn developers"
version = crnn.__version__
release = crnn.__version__

# -- general -----------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    # crnn's "Arguments: / Returns:" docstrings as parameter and return fields (docs/_ext)
    "course_docstrings",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
templates_path = []
smartquotes = False
default_role = "literal"

# -- autodoc, autosummary and numpydoc -----------------------------------------------------
# The API pages are written by hand (docs/api/*.rst): autosummary only makes the tables
# of their sections and generates no stub files.
autosummary_generate = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
autodoc_inherit_docstrings = True
# the methods are documented by autodoc's :members:, not by numpydoc's member tables
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# -- MyST (the Markdown pages, also read on GitHub) -----------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
# anchors for links like INTERNALS.md#memory-kept-between-calls
myst_heading_anchors = 3

# -- HTML ----------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"crnn {release}"
html_static_path = []
html_theme_options = {
    "source_repository": "https://github.com/crnn-dev/crnn",
    "source_branch": "main",
    "source_directory": "docs/",
}
html_show_sourcelink = False
