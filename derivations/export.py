"""A derivation as a document: Markdown (KaTeX/MathJax), a standalone LaTeX file, or plain text."""

from __future__ import annotations

import re

from .derivation import Derivation


def _params_line(d: Derivation) -> str:
    """The parameters as the lessons and the CLI count them: a class from 1."""
    return ", ".join(
        f"{k}={v + 1} (counted from 1; PyTorch's index {v})" if k == "target" else f"{k}={v}"
        for k, v in d.params.items()
    )


def to_markdown(d: Derivation) -> str:
    out = [f"# {d.op}: backpropagation, step by step", "", f"*{_params_line(d)}*", ""]
    for n, s in enumerate(d.steps, 1):
        mark = " ✓ (checked by sympy)" if s.proven else ""
        out += [f"## {n}. {s.title}{mark}", "", s.text, "", "$$", s.latex, "$$", ""]
    return "\n".join(out)


# TeX reads its input a line at a time into a buffer of about 200,000 characters (a 16×16
# convolution's step once made a single line of 221,000): every formula is broken into lines
_MAX_LINE = 200
_ROW = re.compile(r"(\\\\(?:\[[^\]]*\])?) ")
_WHOLE = re.compile(r"\A\\begin\{(aligned|gathered)\}(.*)\\end\{\1\}\Z", re.S)


def _display(tex: str) -> list[str]:
    """A step's formula as display math in lines of at most _MAX_LINE characters. A formula
    that is one aligned (gathered) block becomes align* (gather*), which pdflatex may break
    across pages (\\allowdisplaybreaks); a 40-line block in \\[ … \\] runs off the page."""
    whole = _WHOLE.match(tex.strip())
    if whole:
        env = {"aligned": "align*", "gathered": "gather*"}[whole.group(1)]
        head, body, tail = rf"\begin{{{env}}}", whole.group(2).strip(), rf"\end{{{env}}}"
    else:
        head, body, tail = r"\[", tex, r"\]"
    lines = []
    for row in _ROW.sub("\\1\n", body).split("\n"):
        lines += _wrapped(row)
    return [head, *lines, tail]


_SPACE = re.compile(r"(?<!\\) ")  # not a control space "\ ", which a line end would change


def _wrapped(line: str) -> list[str]:
    """A line cut at spaces into pieces of at most _MAX_LINE characters: a line end is a space
    to TeX, in math and in text alike."""
    out, current = [], ""
    for word in _SPACE.split(line):
        if current and len(current) + 1 + len(word) > _MAX_LINE:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return out + ([current] if current else [])


def to_latex(d: Derivation) -> str:
    """A standalone document: pdflatex compiles it as it is."""
    body = []
    for s in d.steps:
        body += [rf"\section*{{{_tex_text(s.title)}}}", *_wrapped(_tex_text(s.text))]
        body += [*_display(s.latex), ""]
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
    "∈": r"\in",
    "γ": r"\gamma",
    "μ": r"\mu",
    "ε": r"\varepsilon",
    "√": r"\surd",
    "≈": r"\approx",
}
_HAT = re.compile("([A-Za-z])\u0302")  # x̂: a letter and a combining circumflex


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙₘ", "0123456789ijknm")
_SUB_RUN = re.compile("[₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙₘ,]*[₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙₘ]")
# a network's layer, w⁽²⁾₁₂, and eˣ: pdflatex knows ² and ³ but not ⁽, ⁴ or ˣ
_SUPERSCRIPTS = str.maketrans("⁽⁾⁰¹²³⁴⁵⁶⁷⁸⁹ˣ", "()0123456789x")
_SUP_RUN = re.compile("[⁽⁾⁰¹²³⁴⁵⁶⁷⁸⁹ˣ]+")


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
    text = _HAT.sub(r"$\\hat{\1}$", text)
    text = _SUP_RUN.sub(lambda m: "$^{" + m.group(0).translate(_SUPERSCRIPTS) + "}$", text)
    return _SUB_RUN.sub(lambda m: "$_{" + m.group(0).translate(_SUBSCRIPTS) + "}$", text)


def to_text(d: Derivation) -> str:
    out = [f"{d.op} ({_params_line(d)})", ""]
    for n, s in enumerate(d.steps, 1):
        mark = "  [proven]" if s.proven else ""
        out += [f"{n}. {s.title}{mark}", f"   {s.text}", f"   {s.latex}", ""]
    return "\n".join(out)


FORMATS = {"markdown": to_markdown, "latex": to_latex, "text": to_text}
