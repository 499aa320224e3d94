"""Markdown of protocol sections, rendered safely.

Authors write sections in Markdown; members read them as HTML. The renderer is markdown-it-py
with raw HTML disabled (a `<script>` typed in a section is shown as text, escaped) and links
restricted to http, https and mailto (a `javascript:` or `data:` link is left as plain text).
Images are disabled too: the page must not fetch anything from elsewhere, and the
Content-Security-Policy would block them anyway. The output is the only HTML marked safe in
the protocol pages, and it comes from this function alone.
"""

from __future__ import annotations

from functools import lru_cache

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

ALLOWED_LINK_SCHEMES = ("http://", "https://", "mailto:")


def is_allowed_link(url: str) -> bool:
    return url.strip().lower().startswith(ALLOWED_LINK_SCHEMES)


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("image")
    # markdown-it calls validateLink on every link and autolink after normalisation: a link
    # it refuses is rendered as its source text.
    md.validateLink = is_allowed_link  # type: ignore[method-assign]
    return md


def render_markdown(text: str) -> SafeString:
    """HTML of a Markdown section; safe to insert in a page as is."""
    if not text or not text.strip():
        return mark_safe("")
    html = _renderer().render(text)
    return mark_safe(html)  # noqa: S308  (raw HTML is escaped by the renderer, links filtered)
