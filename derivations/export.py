"""A derivation as a document: Markdown (KaTeX/MathJax), a standalone LaTeX file, or plain text."""

from __future__ import annotations

import re

from .derivation import Derivation


def _params_line(d: Derivation) -> str:
    return ", ".join(f"{k}={v}" for k, v in d.params.items())


def to_markdown(d: Derivation) -> str:
    out = [f"# {d.op}: backpropagation, step by step", "", f"*{_params_line(d)}*", ""]
    for n, s in enumerate(d.steps, 1):
        mark = " ✓ (checked by sympy)" if s.proven else ""
        out += [f"## {n}. {s.title}{mark}", "", s.text, "", "$$", s.latex, "$$", ""]
    return "\n".join(out)


def to_latex(d: Derivation) -> str:
    """A standalone document: pdflatex compiles it as it is."""
    body = []
    for s in d.steps:
        body += [
            rf"\section*{{{_tex_text(s.title)}}}",
            _tex_text(s.text),
            r"\[",
            s.latex,
            r"\]",
            "",
        ]
    return "\n".join(
        [
            r"\documentclass[11pt]{article}",
            r"\usepackage[margin=1.5cm,landscape]{geometry}",
            r"\usepackage{amsmath,amssymb,cancel,xcolor}",
            r"\usepackage[utf8]{inputenc}",
            r"\usepackage{newunicodechar}",
            *[rf"\newunicodechar{{{ch}}}{{\ensuremath{{{tex}}}}}" for ch, tex in UNICODE.items()],
            r"\allowdisplaybreaks",
            r"\setcounter{MaxMatrixCols}{64}",  # amsmath stops at 10; padded inputs reach 48
            r"\title{" + d.op.replace("_", " ") + ": backpropagation, step by step}",
            r"\author{Backprop Lab}",
            r"\begin{document}",
            r"\maketitle",
            r"\noindent Parameters: \texttt{" + _params_line(d).replace("_", r"\_") + "}",
            *body,
            r"\end{document}",
            "",
        ]
    )


# characters the step texts use that pdflatex needs spelled out
UNICODE = {
    "∂": r"\partial",
    "⊛": r"\circledast",
    "⊙": r"\odot",
    "Σ": r"\Sigma",
    "σ": r"\sigma",
    "×": r"\times",
    "−": "-",
    "′": "'",
    "≥": r"\ge",
    "≤": r"\le",
    "≠": r"\ne",
    "∞": r"\infty",
    "⌈": r"\lceil",
    "⌉": r"\rceil",
    "⊘": r"\oslash",
    "ᵀ": r"^\top",
    "𝟙": r"\mathbb{1}",
    "°": r"^\circ",
    "α": r"\alpha",
    "β": r"\beta",
    "ℝ": r"\mathbb{R}",
    "→": r"\to",
    "…": r"\dots",
    "✓": r"\checkmark",
}


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙₘ", "0123456789ijknm")
_SUB_RUN = re.compile("[₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙₘ,]*[₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙₘ]")


def _tex_text(text: str) -> str:
    """A step's plain sentence as LaTeX text: specials escaped, x₁₁ → x$_{11}$."""
    for ch, esc in (
        ("\\", r"\textbackslash{}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("#", r"\#"),
        ("&", r"\&"),
        ("^", r"\^{}"),
        ("{", r"\{"),
        ("}", r"\}"),
    ):
        text = text.replace(ch, esc)
    return _SUB_RUN.sub(lambda m: "$_{" + m.group(0).translate(_SUBSCRIPTS) + "}$", text)


def to_text(d: Derivation) -> str:
    out = [f"{d.op} ({_params_line(d)})", ""]
    for n, s in enumerate(d.steps, 1):
        mark = "  [proven]" if s.proven else ""
        out += [f"{n}. {s.title}{mark}", f"   {s.text}", f"   {s.latex}", ""]
    return "\n".join(out)


FORMATS = {"markdown": to_markdown, "latex": to_latex, "text": to_text}
