"""How every browser test judges a page: one place for axe-core, the width and the words.

RGAA (WCAG 2.1 AA) is what a French public-service tool is held to, and half of the CPTS
reads its worklist on a phone between two visits. A page "reads well" when it has no serious
or critical axe-core violation and nothing wider than the screen; `problems_on` adds the
favicon and the English words of the every-page test.

axe's rules whose every check is of minor or moderate impact can never report a serious or
critical violation: they are not run (`_never_serious`). They were a third of axe's time on
our pages (the landmark and region rules walk the whole page), for the same serious and
critical findings on all of them; tests/browser/test_every_page_in_a_browser.py checks it.
"""

from __future__ import annotations

import re
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

AXE = Axe()
SERIOUS = frozenset({"serious", "critical"})
# Read from axe itself, once per process: a newer axe-core whose rule can now be serious is
# run again.
NEVER_SERIOUS_RULES = """() => {
  const rank = {minor: 1, moderate: 2, serious: 3, critical: 4};
  const impactOf = id => (axe._audit.checks[id] || {}).impact;
  return axe._audit.rules
    .filter(rule => {
      const checks = [...rule.any, ...rule.all, ...rule.none].map(c => c.id || c);
      const impacts = rule.impact ? [rule.impact] : checks.map(impactOf);
      return impacts.length && impacts.every(impact => (rank[impact] || 9) <= rank.moderate);
    })
    .map(rule => rule.id);
}"""
_never_serious: dict[str, dict[str, bool]] = {}
SERIOUS_ONLY = """([options, serious]) => axe.run(document, options)
  .then(results => results.violations
  .filter(violation => serious.includes(violation.impact))
  .map(violation => ({id: violation.id, impact: violation.impact,
                      targets: violation.nodes.slice(0, 3).map(node => node.target)})))"""

# Words of the English UI (Django's and the libraries' defaults, the machine codes of the
# states) that must never reach a French page. Whole words, case-sensitive where a French
# word shares the spelling in lower case.
ENGLISH = re.compile(
    r"\b(None|True|False|Submit|Save|Cancel|Delete|Search|Next|Previous|Loading|"
    r"required|draft|sent|received|accepted|declined|cancelled|no_show|closed|"
    r"referral|discharge|pending|Unknown|Error)\b"
)

# The innermost elements that stick out of the screen: what to fix when a page is too wide.
WIDEST = """() => [...document.body.querySelectorAll('*')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
  .slice(0, 4)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className ? '.' + e.className : ''))"""


def never_serious_rules(page: Page) -> dict[str, dict[str, bool]]:
    """axe's options turning off the rules that cannot be serious (read once per process)."""
    if not _never_serious:
        page.evaluate(AXE.axe_script)
        _never_serious.update(
            {rule: {"enabled": False} for rule in page.evaluate(NEVER_SERIOUS_RULES)}
        )
    return _never_serious


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as shown, one line each.

    A click on a link does not wait for the page it opens: the caller waits for the new URL
    (or for something of the new page), or axe may run on the document being replaced.
    """
    page.wait_for_load_state()
    options: dict[str, Any] = {"resultTypes": ["violations"], "rules": never_serious_rules(page)}
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.axe_script)
    # Only what is reported crosses back: axe's whole result (every rule that passed, with
    # its metadata) is ten times the size and was parsed for nothing at each check.
    violations = page.evaluate(SERIOUS_ONLY, [options, sorted(SERIOUS)])
    return [
        f"axe {violation['id']} ({violation['impact']}) on {violation['targets']}"
        for violation in violations
    ]


def too_wide(page: Page) -> list[str]:
    """What makes the page scroll sideways, or nothing."""
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    if width <= viewport:
        return []
    return [f"{width}px wide on a {viewport}px screen, by {page.evaluate(WIDEST)}"]


def problems_on(page: Page) -> list[str]:
    """What is wrong with the page as it is shown: axe, width, favicon, English words."""
    found = serious_violations(page) + too_wide(page)
    if not page.locator("head link[rel~=icon]").count():
        found.append("no favicon")
    words = sorted(set(ENGLISH.findall(page.locator("body").inner_text())))
    return found + [f"English word {word!r}" for word in words]


def assert_reads_well(page: Page) -> None:
    """No serious or critical axe violation and nothing wider than the screen."""
    problems = serious_violations(page) + too_wide(page)
    assert problems == [], f"{page.url}: " + "\n".join(problems)
