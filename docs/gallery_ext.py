"""A Sphinx extension: the gallery page, every figure of the executed notebooks in one place.

``.. notebook-gallery::`` in a page is replaced, when the page is written, by the figures that the
user guide's notebooks (``notebooks/*`` documents, executed by myst-nb) produced: one section per
notebook with a link to it, each figure captioned with the notebook section it belongs to. Nothing is
copied by hand, so the gallery always shows what the notebooks compute today; a notebook that
produces no figure is left out.
"""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive

NOTEBOOK_PREFIX = "notebooks/"


class gallery_placeholder(nodes.General, nodes.Element):
    """Where the figures go; replaced in :func:`fill_gallery`."""


class NotebookGallery(Directive):
    has_content = False

    def run(self):
        return [gallery_placeholder()]


def _notebook_docs(env) -> list[str]:
    return sorted(doc for doc in env.found_docs
                  if doc.startswith(NOTEBOOK_PREFIX) and not doc.startswith(NOTEBOOK_PREFIX + "solutions"))


def _figures(doctree) -> list[tuple[str, nodes.image]]:
    """``(section title, image node)`` for every image of a notebook, in reading order."""
    found = []
    for image in doctree.findall(nodes.image):
        section = image.parent
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        title = section.next_node(nodes.title).astext() if section is not None else ""
        found.append((title, image))
    return found


def fill_gallery(app, doctree, docname) -> None:
    placeholders = list(doctree.findall(gallery_placeholder))
    if not placeholders:
        return
    env = app.builder.env
    content = []
    for notebook in _notebook_docs(env):
        figures = _figures(env.get_doctree(notebook))
        if not figures:
            continue
        title = env.titles[notebook].astext() if notebook in env.titles else notebook
        section = nodes.section(ids=[nodes.make_id(f"gallery-{notebook}")])
        section += nodes.title(text=title)
        count = f"{len(figures)} figure{'' if len(figures) == 1 else 's'}"
        link = nodes.reference(text=f"Open the notebook ({count})",
                               refuri=app.builder.get_relative_uri(docname, notebook))
        section += nodes.paragraph("", "", link)
        for number, (caption, image) in enumerate(figures, 1):
            figure = nodes.figure(ids=[nodes.make_id(f"gallery-{notebook}-{number}")])
            figure += image.deepcopy()
            figure += nodes.caption(text=caption or title)
            section += figure
        content.append(section)
    if not content:
        content = [nodes.paragraph(text="The notebooks were not executed in this build (FAIRERM_DOCS_EXECUTE=off): "
                                        "no figures to show.")]
    for placeholder in placeholders:
        placeholder.replace_self(content)


def setup(app):
    app.add_node(gallery_placeholder)
    app.add_directive("notebook-gallery", NotebookGallery)
    app.connect("doctree-resolved", fill_gallery)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
