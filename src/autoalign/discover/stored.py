"""What a Discover run stores as its result: JSON made when the run ends, the same from every interface.

The sympy expressions are not kept: reading one back from text would mean evaluating untrusted
column names. So the forms a reader needs are written when the run ends: the law as text, LaTeX
and presentation MathML (which browsers render natively), and which point of the Pareto front it is.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import nh3
import sympy

from autoalign.discover import LawResult, StreamLaw, StreamsResult
from autoalign.discover.gallery import Apparatus
from autoalign.discover.judge import Demo

#: What sympy's presentation MathML printer writes, and nothing that could run or link anywhere.
MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot",
    "mover", "munder", "munderover", "mstyle", "mpadded", "mphantom", "mtable", "mtr", "mtd",
}  # fmt: skip
MATHML_ATTRIBUTES = {
    "*": {"display", "mathvariant", "stretchy", "fence", "separator", "form", "lspace", "rspace", "linethickness"},
}


def law_mathml(expression: sympy.Basic) -> str:
    """The law as presentation MathML. sympy writes symbol names into it unescaped, and they are
    column names, which are untrusted: each is escaped first, and anything that is not MathML is
    stripped after."""
    escaped = {s: sympy.Symbol(html.escape(s.name, quote=False), **s.assumptions0) for s in expression.free_symbols}
    markup = sympy.printing.mathml(expression.xreplace(escaped), printer="presentation")
    return nh3.clean(f'<math display="block">{markup}</math>', tags=MATHML_TAGS, attributes=MATHML_ATTRIBUTES)


def law_record(result: LawResult) -> dict[str, Any]:
    """The law as an equation (``target = law``) in MathML and LaTeX, the best held-out R² (what a
    "no law found" falls short with), and which point of the Pareto front is the law."""
    equation = sympy.Eq(sympy.Symbol(result.target), result.law, evaluate=False) if result.found else None
    return result.as_dict() | {
        "best_r2": result.best_r2,
        "mathml": law_mathml(equation) if equation is not None else None,
        "equation_latex": sympy.latex(equation) if equation is not None else None,
        "chosen": next((i for i, law in enumerate(result.pareto_front) if law.expression == result.law), None),
    }


def _stream_law_record(law: StreamLaw) -> dict[str, Any]:
    return law_record(law.result) | {
        "inputs": list(law.inputs),
        "rows_used": law.rows_used,
        "rows_dropped": law.rows_dropped,
        "proportionality": law.proportionality,
    }


def streams_record(result: StreamsResult) -> dict[str, Any]:
    """The summary variables (with their number of sensors) and each law between them."""
    payload: dict[str, Any] = result.as_dict()
    for variable in payload["variables"]:
        variable["sensors"] = len(variable["members"])
    payload["laws"] = [_stream_law_record(law) for law in result.laws]
    return payload


def demo_record(demo: Demo, apparatus: Apparatus) -> dict[str, Any]:
    """:func:`streams_record` and the check against the truth the simulation kept apart
    (``measures``: true quantity -> sensors, per variable and for the sensors found irrelevant;
    ``check``: the judge's verdict)."""
    truth = demo.table.truth()
    payload = streams_record(demo.result)
    for variable in payload["variables"]:
        variable["measures"] = dict(Counter(truth[m] for m in variable["members"]).most_common())
    payload["irrelevant_measure"] = dict(Counter(truth[n] for n in demo.result.summary.irrelevant).most_common())
    payload["apparatus"] = apparatus.as_dict()
    payload["check"] = demo.verdict.as_dict()
    return payload
