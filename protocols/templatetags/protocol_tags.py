"""Template helpers of the protocol pages: safe Markdown, profession labels."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from directory.models import Member
from protocols.markdown import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """A section rendered by protocols.markdown (raw HTML escaped, links http/https/mailto)."""
    return render_markdown(text or "")


@register.filter
def profession_labels(values: list[str]) -> str:
    labels = dict(Member.Profession.choices)
    return ", ".join(str(labels.get(value, value)) for value in values or [])
