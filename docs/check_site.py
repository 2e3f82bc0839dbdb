"""Render pages of the built documentation in headless Chromium and report what a reader would see broken.

Usage::

    FAIRERM_DOCS_MATHJAX=/usr/share/javascript/mathjax/MathJax.js python -m sphinx -W -b html docs docs/_build/html
    python docs/check_site.py docs/_build/html              # index.html, api.html and maths.html
    python docs/check_site.py docs/_build/html --pages index.html gallery.html

(``make docs-check`` does both.) Chromium comes from the system packages (Debian: ``apt-get install
chromium``); the maths needs a MathJax the browser can load: the CDN Sphinx links by default, or a local
copy (Debian: ``libjs-mathjax``) that ``FAIRERM_DOCS_MATHJAX`` points the build at (``docs/conf.py``).

Each page is loaded from a copy, next to it, with a probe script first in its ``<head>``: it records
every resource that fails to load (images, scripts, style sheets) and every uncaught script error, and,
once the page has loaded and MathJax has finished, whether each ``<img>`` has pixels. Chromium runs
the page with a virtual-time budget and prints the final DOM (``--dump-dom``), which is then read here.
A page fails when:

* it does not load, has no main content, or one of its local links points to a file that does not
  exist (a broken page);
* an image did not load (a missing image);
* a maths element was not typeset by MathJax, or MathJax reported an error in it (unrendered maths).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_PAGES = ("index.html", "api.html", "maths.html")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

_PROBE = """<script>(function () {
  var root = document.documentElement, errors = [];
  function note(text) { errors.push(text); root.setAttribute("data-check-errors", JSON.stringify(errors)); }
  window.addEventListener("error", function (event) {
    var target = event.target;
    if (target && target !== window && (target.src || target.href)) {
      note("failed to load " + (target.src || target.href));
    }
    else { note("script error: " + event.message); }
  }, true);
  function images() {
    var bad = [];
    document.querySelectorAll("img").forEach(function (img) {
      if (!(img.complete && img.naturalWidth > 0)) { bad.push(img.getAttribute("src")); }
    });
    root.setAttribute("data-check-broken-images", JSON.stringify(bad));
    root.setAttribute("data-check-images", String(document.images.length));
  }
  function finish() { images(); root.setAttribute("data-check-done", "1"); }
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) { mj.startup.promise.then(finish, finish); }
    else if (mj && mj.Hub && mj.Hub.Queue) { mj.Hub.Queue(finish); }
    else { finish(); }
  });
})();</script>"""


def find_chromium() -> str | None:
    """The Chromium executable: ``$FAIRERM_CHROMIUM``, else the first of :data:`CHROMIUM_NAMES` on the PATH."""
    explicit = os.environ.get("FAIRERM_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageReport:
    """What one page showed: ``problems`` is empty when it renders as it should."""

    page: str
    problems: list = field(default_factory=list)
    n_maths: int = 0
    n_images: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


class _Dom(HTMLParser):
    """The facts of a dumped DOM: probe attributes, maths elements and whether MathJax typeset each, links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root_attrs: dict = {}
        self.main_text = 0
        self.links: list[str] = []
        self.maths: list[dict] = []  # {"typeset": bool, "error": bool, "text": str}
        self._stack: list[str] = []  # the open elements
        self._in_main = 0
        self._math_depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html" and not self.root_attrs:
            self.root_attrs = attrs
        classes = (attrs.get("class") or "").split()
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if self._math_depth:  # inside a maths element: did MathJax typeset it, or mark an error?
            current = self.maths[-1]
            if tag.startswith("mjx-") or tag == "svg" or any(c.startswith("MathJax") or c.startswith("mjx-")
                                                              for c in classes):
                current["typeset"] = True
            if "merror" in tag or "data-mjx-error" in attrs or any("merror" in c or c == "MathJax_Error"
                                                                   for c in classes):
                current["error"] = True
        if tag in _VOID:
            return
        if self._math_depth:
            self._math_depth += 1
        elif tag in ("span", "div") and "math" in classes:
            self.maths.append({"typeset": False, "error": False, "text": ""})
            self._math_depth = 1
        if self._in_main:
            self._in_main += 1
        elif attrs.get("role") == "main":
            self._in_main = 1
        self._stack.append(tag)

    def handle_endtag(self, tag):
        if tag in _VOID or tag not in self._stack:
            return
        while self._stack:
            open_tag = self._stack.pop()
            self._math_depth = max(self._math_depth - 1, 0)
            self._in_main = max(self._in_main - 1, 0)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._math_depth and self.maths:
            self.maths[-1]["text"] += data
        if self._in_main:
            self.main_text += len(data.strip())


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _probe_copy(page: Path) -> Path:
    """A copy of ``page`` next to it (same relative links) with the probe first in its ``<head>``."""
    html = page.read_text(encoding="utf-8")
    match = re.search(r"<head[^>]*>", html, flags=re.IGNORECASE)
    at = match.end() if match else 0
    probe = page.with_name(f".check_{page.name}")
    probe.write_text(html[:at] + _PROBE + html[at:], encoding="utf-8")
    return probe


def _broken_local_links(site: Path, page: Path, links: list[str]) -> list[str]:
    broken = []
    for href in links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path or href.startswith("#"):
            continue  # external links, and anchors within the page, are not checked here
        target = (page.parent / unquote(parts.path)).resolve()
        if not target.exists():
            broken.append(href)
    return sorted(set(broken))


def check_page(site: Path, relative: str, chromium: str, *, budget_ms: int = 20_000, timeout: float = 120.0
               ) -> PageReport:
    """Render ``site/relative`` in headless Chromium and list what is broken (see the module docstring)."""
    import json

    report = PageReport(relative)
    page = site / relative
    if not page.is_file():
        report.problems.append(f"{relative}: the page does not exist")
        return report
    probe = _probe_copy(page)
    try:
        with tempfile.TemporaryDirectory(prefix="fairerm-chromium-") as profile:
            command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                       "--allow-file-access-from-files", "--no-first-run", f"--user-data-dir={profile}",
                       f"--virtual-time-budget={budget_ms}", "--dump-dom", probe.resolve().as_uri()]
            try:
                proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                report.problems.append(f"{relative}: Chromium did not finish within {timeout:.0f} s")
                return report
    finally:
        probe.unlink(missing_ok=True)
    if proc.returncode != 0 or "<html" not in proc.stdout.lower():
        report.problems.append(f"{relative}: Chromium could not render the page (exit status {proc.returncode}): "
                               f"{proc.stderr.strip()[-300:]}")
        return report
    dom = _Dom()
    dom.feed(proc.stdout)
    attrs = dom.root_attrs
    if attrs.get("data-check-done") != "1":
        report.problems.append(f"{relative}: the page did not finish loading within {budget_ms} ms of virtual time")
    for error in json.loads(attrs.get("data-check-errors") or "[]"):
        report.problems.append(f"{relative}: {error.replace(probe.name, page.name)}")
    broken_images = json.loads(attrs.get("data-check-broken-images") or "[]")
    report.n_images = int(attrs.get("data-check-images") or 0)
    report.problems += [f"{relative}: image {src!r} did not load" for src in broken_images]
    if dom.main_text < 20:
        report.problems.append(f"{relative}: no main content (a broken page)")
    report.problems += [f"{relative}: link {href!r} points to a missing file"
                        for href in _broken_local_links(site, page, dom.links)]
    report.n_maths = len(dom.maths)
    raw = [m["text"].strip() for m in dom.maths if not m["typeset"]]
    errors = [m["text"].strip() for m in dom.maths if m["error"]]
    if raw:
        report.problems.append(f"{relative}: {len(raw)} of {len(dom.maths)} maths elements not typeset by MathJax, "
                               f"e.g. {raw[0][:80]!r} (is MathJax reachable? see FAIRERM_DOCS_MATHJAX in docs/conf.py)")
    if errors:
        report.problems.append(f"{relative}: MathJax reported {len(errors)} error(s), e.g. in {errors[0][:80]!r}")
    return report


def check_site(site: Path, pages=DEFAULT_PAGES, chromium: str | None = None) -> list[PageReport]:
    """:func:`check_page` for every page; raises ``FileNotFoundError`` when Chromium is not installed."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found (tried $FAIRERM_CHROMIUM and " + ", ".join(CHROMIUM_NAMES)
                                + "); on Debian: apt-get install chromium")
    return [check_page(Path(site), page, chromium) for page in pages]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path, help="the built HTML folder (docs/_build/html)")
    parser.add_argument("--pages", nargs="*", default=list(DEFAULT_PAGES))
    args = parser.parse_args(argv)
    try:
        reports = check_site(args.site, args.pages)
    except FileNotFoundError as exc:
        print(f"check_site: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        status = "ok" if report.ok else "BROKEN"
        print(f"{status:6} {report.page}: {report.n_maths} maths elements, {report.n_images} images")
        for problem in report.problems:
            print(f"       {problem}")
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
