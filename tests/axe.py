"""axe-core (from npm, node_modules/axe-core) run in a real Chromium page: the WCAG 2.1 A/AA
rules, the violations a person with a screen reader, low vision or a keyboard would hit.

axe is evaluated through the DevTools protocol (page.evaluate), not added as a <script>:
the portal's Content-Security-Policy rightly refuses inline scripts, and the test must see
the page exactly as served.
"""

from collections import Counter
from pathlib import Path

AXE_SOURCE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING = ("serious", "critical")


def violations(page, tags=WCAG_AA) -> list[dict]:
    """axe's violations on the page as it is now: [{id, impact, help, nodes: [{target}]}]."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text())
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }""",
        list(tags),
    )


def blocking(found: list[dict]) -> list[dict]:
    """The serious and critical violations: the ones the portal must have none of."""
    return [v for v in found if v["impact"] in BLOCKING]


def rule_counts(found: list[dict]) -> Counter:
    """Rule id → number of offending elements, for the per-rule summary a test prints."""
    counts = Counter()
    for violation in found:
        counts[f"{violation['id']} ({violation['impact']})"] += len(violation["nodes"])
    return counts
