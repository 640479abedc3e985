"""How verdicts show themselves in a notebook: HTML and Markdown for ``Verdict`` (``verify``) and
``StepsVerdict`` (``verify_steps``).

Two mixins, one per result class; they only read the result's fields. Expressions are written
by the textbook printer (σ, ⊙, ᵀ, 𝟏) and every piece of text is HTML-escaped. The status is
coloured: proven green, probable amber, refuted red; a derivation's first wrong step is marked.

>>> import sympy as sp
>>> from symgrad import verify
>>> x = sp.Symbol("x")
>>> page = verify(x**2, x, budget=0)._repr_html_()
>>> "refuted" in page and "<th>counterexample</th>" in page
True
"""
from __future__ import annotations

import html

import sympy as sp

from ..ops.textbook import TextbookStr

__all__ = ["VerdictDisplay", "StepsDisplay", "COLOURS"]

COLOURS = {"proven": "#1a7f37", "probable": "#9a6700", "refuted": "#cf222e"}


def _text(value):
    """One line of readable text for an expression, a matrix or a number."""
    if isinstance(value, sp.MatrixBase):
        return str(value.tolist())
    if isinstance(value, sp.Basic):
        return TextbookStr().doprint(value)
    return str(value)


def _status_html(status):
    return '<b style="color:%s">%s</b>' % (COLOURS.get(status, "inherit"), html.escape(status))


def _point(counterexample):
    return ", ".join("%s = %s" % (_text(k), _text(v)) for k, v in counterexample.items()) \
        or "(no free symbols)"


def _facts(v):
    """(label, text) rows of a verdict: how it was decided, and for a refutation, where."""
    rows = [("method", v.method), ("points", str(v.points))]
    if v.note:
        rows.append(("note", v.note))
    if v.counterexample is not None:
        rows += [("counterexample", _point(v.counterexample)),
                 ("lhs there", _text(v.lhs_value)), ("rhs there", _text(v.rhs_value))]
    if v.enclosure:
        rows.append(("certified", v.enclosure))
    if v.detail:
        rows.append(("where", v.detail))
    return rows


def _claim(lhs, relation, rhs):
    return "%s %s %s" % (_text(lhs), relation, _text(rhs))


class VerdictDisplay:
    """Mixin for ``Verdict``: ``_repr_html_`` and ``_repr_markdown_``."""

    __slots__ = ()

    def _repr_html_(self):
        rows = "".join("<tr><th>%s</th><td>%s</td></tr>" % (html.escape(k), html.escape(t))
                       for k, t in _facts(self))
        return ('<div class="symgrad-verdict"><p>%s: <code>%s</code></p>'
                '<table>%s</table></div>' % (_status_html(self.status),
                                             html.escape(_claim(self.lhs, self.relation,
                                                                self.rhs)), rows))

    def _repr_markdown_(self):
        lines = ["**%s**: `%s`" % (self.status, _claim(self.lhs, self.relation, self.rhs)), ""]
        lines += ["- %s: %s" % (k, t) for k, t in _facts(self)]
        return "\n".join(lines) + "\n"


class StepsDisplay:
    """Mixin for ``StepsVerdict``: one row per consecutive pair, the first wrong one marked,
    then its counterexample."""

    __slots__ = ()

    def _pairs(self):
        for k, (v, rel) in enumerate(zip(self.verdicts, self.relations)):
            yield k, _claim(self.steps[k], rel, self.steps[k + 1]), v

    def _summary(self):
        k = self.first_wrong
        if k is None:
            return "every step holds"
        return "first wrong step: %d → %d, counterexample %s" % (
            k, k + 1, _point(self.verdicts[k].counterexample))

    def _repr_html_(self):
        rows = []
        for k, claim, v in self._pairs():
            mark = ' style="background:#ffebe9"' if k == self.first_wrong else ""
            rows.append("<tr%s><td>%d → %d</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>"
                        % (mark, k, k + 1, html.escape(claim), _status_html(v.status),
                           html.escape(v.method)))
        return ('<div class="symgrad-steps"><table><tr><th>step</th><th>claim</th>'
                '<th>verdict</th><th>method</th></tr>%s</table><p>%s</p></div>'
                % ("".join(rows), html.escape(self._summary())))

    def _repr_markdown_(self):
        lines = ["| step | claim | verdict | method |", "|---|---|---|---|"]
        for k, claim, v in self._pairs():
            status = "**%s**" % v.status if k == self.first_wrong else v.status
            lines.append("| %d → %d | `%s` | %s | %s |" % (k, k + 1, claim.replace("|", "\\|"),
                                                         status, v.method.replace("|", "\\|")))
        return "\n".join(lines + ["", self._summary()]) + "\n"
