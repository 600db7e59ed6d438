"""Render crnn's course-style docstrings as parameter and return fields.

crnn's docstrings keep the form of the "Sequence Models" course's notebooks::

    Arguments:
    xt -- input at step t, of shape (n_x, m)
    parameters -- dict with "Wax" (n_a, n_x), "Waa" (n_a, n_a), ...
                  "ba" (n_a, 1), "by" (n_y, 1)

    Returns:
    a_next -- next hidden state, of shape (n_a, m)

Read as reStructuredText, such a block is one paragraph whose indented lines are an
error. Before numpydoc reads a docstring, this extension rewrites each block, at build
time only, into the reStructuredText numpydoc makes of its own ``Parameters`` and
``Returns`` sections: a field (``:Parameters:``, ``:Returns:``) holding a definition list,
each ``name -- description`` line an entry with the lines indented under it as its
description. A block that is not all such entries (``Returns:`` followed by a sentence)
becomes the field's text as it is. Nothing else changes, and the source files are not
touched. numpydoc then finds no section of its own and keeps the text as it is.
"""

import inspect
import re

#: The course's block headers and the field each becomes.
SECTIONS = {
    "Arguments:": "Parameters",
    "Returns:": "Returns",
}

#: A block's first line of an entry: "name -- description" at the margin.
ENTRY = re.compile(r"^(?P<name>\S.*?)\s+--\s+(?P<desc>.*)$")


def _entries(block):
    """The (name, description lines) of a block, or None when it is not all entries."""
    entries = []
    for line in block:
        if line[:1].isspace():
            if not entries:
                return None
            entries[-1][1].append(line.strip())
            continue
        match = ENTRY.match(line)
        if match is None:
            return None
        entries.append((match["name"].strip(), [match["desc"].strip()]))
    return entries or None


def course_to_fields(lines):
    """The docstring lines with every course block rewritten as a field."""
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        field = None if line[:1].isspace() else SECTIONS.get(line.strip())
        end = i + 1
        while field and end < len(lines) and lines[end].strip():
            end += 1
        if field is None or end == i + 1:
            out.append(line)
            i += 1
            continue
        block = lines[i + 1 : end]
        if out and out[-1].strip():
            out.append("")
        out += [f":{field}:", ""]
        entries = _entries(block)
        if entries is None:
            out += ["    " + text for text in block]
        else:
            for name, desc in entries:
                out.append("    **" + name.replace("*", r"\*") + "**")
                out += ["        " + text for text in desc]
        out.append("")
        i = end
    return out


def process_docstring(app, what, name, obj, options, lines):
    if what in ("data", "attribute") and _is_type_docstring(obj, lines):
        # a constant without a doc comment: autodoc falls back to its type's docstring
        # (str's, dict's), which says nothing of the constant
        lines[:] = []
        return
    lines[:] = course_to_fields(lines)


def _is_type_docstring(obj, lines):
    doc = inspect.getdoc(type(obj))
    return bool(doc) and "\n".join(lines).strip() == doc.strip()


def setup(app):
    # numpydoc connects its own handler at the default priority (500): run before it
    app.connect("autodoc-process-docstring", process_docstring, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
