"""README.md is outside the strict MkDocs build: its relative links are checked here."""

from __future__ import annotations

import re

from .server import REPO

LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


def test_every_relative_link_in_the_readme_exists() -> None:
    targets = [m["target"] for m in LINK.finditer((REPO / "README.md").read_text())]
    relative = [t for t in targets if "://" not in t and not t.startswith("mailto:")]
    assert relative, "the README links to the docs"
    missing = [t for t in relative if not (REPO / t).exists()]
    assert missing == []
