"""The Conv2D and transposed Conv2D lessons, written from their Math (``derivations/conv.py``)."""

from __future__ import annotations

from ..conv import CONV_DK, CONV_DX, CONV_T_DK, CONV_T_DX, CONV_T_FORWARD
from ..derivation import Math, Step
from ..facts import ConvFacts, need
from ..typeset import Typeset, article, check_mark, plural, visible_len
from .common import (
    all_grads_step,
    chain_rule_step,
    expansion_parts,
    forward_step,
    longest,
    sums,
)

CHANNELS_NOTE = (
    "With several channels nothing new happens: each output channel sums this single-channel "
    "result over the input channels, and each input channel's gradient sums over the output "
    "channels it fed."
)


def _conv(m: Math) -> ConvFacts:
    return need(m.conv, m.op, "conv")


def _size_formula(n, k, s, p, d, out, transposed=False, op_=0):
    if transposed:
        return rf"({n}-1)\cdot {s} - 2\cdot {p} + {d}\cdot({k}-1) + {op_} + 1 = {out}"
    return rf"\left\lfloor \frac{{{n} + 2\cdot {p} - {d}\cdot({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {out}"


def _setup_tex(m: Math, t: Typeset, op_tex: str) -> str:
    """'X ⊛ K + b = Z' (flowed to fit) above the output-size formulas."""
    pr = m.params
    opad = pr.get("output_padding")
    sizes = [
        f"{name}_{{out}} &= "
        + _size_formula(
            pr["input_shape"][a],
            pr["kernel_shape"][a],
            pr["stride"][a],
            pr["padding"][a],
            pr["dilation"][a],
            _conv(m).out[a],
            opad is not None,
            (opad or (0, 0))[a],
        )
        for a, name in enumerate("HW")
    ]
    X, K = m.inputs["X"], m.inputs["K"]
    return t.gathered(
        [t.bmatrix(X), f"{op_tex} {t.bmatrix(K)}", "+ b", f"= {t.bmatrix(m.out_symbols)}"],
        r"\begin{aligned} " + r" \\ ".join(sizes) + r" \end{aligned}",
    )


def _bias_step(m: Math, extra: str = "", why: str = "b is added to every output.") -> Step:
    """∂L/∂b = Σ ∂L/∂Z, proven: the bias feeds every output once."""
    ok = dict(m.checks)["db = sum(dZ)"]
    return Step(
        "∂L/∂b = Σ ∂L/∂Z",
        rf"\frac{{\partial L}}{{\partial b}} = \sum_{{i,j}} \frac{{\partial L}}{{\partial z_{{ij}}}}{extra}"
        + check_mark(ok),
        why,
        kind="pattern",
        focus="b",
        proven=ok,
    )


def _fan_out_text(jac_x: dict, n_inputs: int) -> str:
    """Why the ∂L/∂x sums have different lengths, with this derivation's own numbers."""
    counts = [len(jac_x.get(idx, {})) for idx in jac_x] + [0] * (n_inputs - len(jac_x))
    lo, hi = min(counts), max(counts)
    if lo == hi:
        return f"Every input fed exactly {plural(hi, 'output')}, so every sum has {plural(hi, 'term')}."
    unused = " (an input no window reached gets 0)" if lo == 0 else ""
    return (
        f"Inputs fed between {lo} and {plural(hi, 'output')}{unused}: that is why the sums have "
        "different lengths."
    )


def _busiest(jac_entries):
    """The entry with the most terms (ties: the first), for the chain-rule example."""
    return max(jac_entries, key=lambda idx: (len(jac_entries[idx]), -idx[0], -idx[1]))


def _how(pr) -> str:
    s, p, dl = pr["stride"], pr["padding"], pr["dilation"]
    extras = []
    if any(v != 1 for v in s):
        extras.append(f"stride {s[0]}×{s[1]}")
    if any(p):
        extras.append(f"padding {p[0]}×{p[1]}")
    if any(v != 1 for v in dl):
        extras.append(f"dilation {dl[0]}×{dl[1]}")
    return ", ".join(extras) or "stride 1, no padding"


def _conv2d_intro(m: Math, t: Typeset) -> list[Step]:
    pr = m.params
    (h, w), (kh, kw), p = pr["input_shape"], pr["kernel_shape"], pr["padding"]
    return [
        Step(
            "Setup",
            _setup_tex(m, t, r"\circledast"),
            f"{article(h).capitalize()} {h}×{w} input X slides {article(kh)} {kh}×{kw} kernel K ({_how(pr)}); every output zᵢⱼ is the "
            f"sum of a window of X times K, plus the bias b. ⊛ is cross-correlation (no kernel "
            f"flip), as in every deep-learning framework. {CHANNELS_NOTE}",
            kind="setup",
            focus="Z",
        ),
        forward_step(
            m,
            t,
            lambda o: expansion_parts(m.inputs, sums(m)[o]),
            "Each output multiplies one window of X by K entry by entry and adds b"
            + (" (window cells in the padding are 0 and drop out)." if any(p) else "."),
            busiest=longest(sums(m)),
        ),
    ]


def _conv2d_dk(m: Math, t: Typeset) -> list[Step]:
    s, p, dl = m.params["stride"], m.params["padding"], m.params["dilation"]
    ho, wo = _conv(m).out
    pat = m.patterns[CONV_DK]
    # the Jacobian lists only non-zero partials: a weight over padding does not meet that output
    kh, kw = m.inputs["K"].shape
    met = [len(m.jac["K"].get((r, c), {})) for r in range(kh) for c in range(kw)]
    every = all(n == ho * wo for n in met)
    pad_txt = rf"\mathrm{{pad}}_{{{p[0]},{p[1]}}}(X)" if any(p) else "X"
    dil_txt = _dk_subscript(s, dl)
    dk_shape = _correlated_shape(pat.operands["X"], pat.operands["dZ"], dl, s)
    return [
        chain_rule_step(m, t, "K", (0, 0)),
        all_grads_step(
            m,
            t,
            "K",
            text=(
                "Each kernel weight touched every output once, so each ∂L/∂k sums over all of ∂L/∂Z."
                if every
                else "A kernel weight only meets the outputs whose window puts a real input (not "
                "padding) under it, so some sums are shorter"
                + (", and a weight that only ever meets padding gets 0." if 0 in met else ".")
            ),
        ),
        Step(
            "Pattern: ∂L/∂K = X ⊛ ∂L/∂Z",
            t.gathered(
                rf"\frac{{\partial L}}{{\partial K}} = {pad_txt} \circledast{dil_txt} \frac{{\partial L}}{{\partial Z}}",
                [
                    f"= {t.bmatrix(pat.operands['X'])}",
                    rf"\circledast{dil_txt} "
                    + t.bmatrix(pat.operands["dZ"], lead=visible_len(rf"\circledast{dil_txt}") + 5)
                    + check_mark(pat.ok),
                ],
            ),
            "The kernel gradient is the input correlated with the upstream gradient"
            + (
                f": the upstream's entries sit {s[0]}×{s[1]} apart because of the stride"
                if any(v != 1 for v in s)
                else ""
            )
            + (", and the result is cropped to K's size" if dk_shape != m.inputs["K"].shape else "")
            + ". sympy checked every entry against the chain-rule sums above.",
            kind="pattern",
            focus="K",
            proven=pat.ok,
        ),
    ]


def _correlated_shape(a, k, stride, dilation) -> tuple[int, int]:
    """The shape of the valid correlation a ⊛ k with this stride and dilation (uncropped)."""
    (s0, s1), (d0, d1) = stride, dilation
    return (
        (a.rows - d0 * (k.rows - 1) - 1) // s0 + 1,
        (a.cols - d1 * (k.cols - 1) - 1) // s1 + 1,
    )


def _rows_and_columns(rows: int, cols: int) -> str:
    """'2 rows and 1 column', '3 columns': the parts that are not 0."""
    parts = [plural(rows, "row")] * bool(rows) + [plural(cols, "column")] * bool(cols)
    return " and ".join(parts)


def _border(rows: int, cols: int) -> list[str]:
    """What padding by ``rows`` and ``cols`` on each side does; a negative amount crops."""
    if rows == cols and rows > 0:
        return [f"pad {plural(rows, 'zero')} on every side"]
    out = []
    if rows:
        out.append(
            f"pad {plural(rows, 'row')} of zeros above and below"
            if rows > 0
            else f"crop {plural(-rows, 'row')} off the top and the bottom"
        )
    if cols:
        out.append(
            f"pad {plural(cols, 'column')} of zeros left and right"
            if cols > 0
            else f"crop {plural(-cols, 'column')} off the left and the right"
        )
    return out


def _dx_recipe(m: Math) -> str:
    s, p = m.params["stride"], m.params["padding"]
    kd, (eh, ew) = need(_conv(m).kd, m.op, "kd"), _conv(m).unreached
    pieces = []
    if any(v != 1 for v in s):
        between = _rows_and_columns(s[0] - 1, s[1] - 1)
        pieces.append(
            f"first spread ∂L/∂Z out with {between} of zeros between entries (the stride)"
        )
    border = _border(kd.rows - 1, kd.cols - 1)  # none for a kernel spanning a single cell
    if border:
        pieces.append(" and ".join(border) + " (kernel span − 1)")
    if eh or ew:
        more = " and ".join(
            [f"{plural(eh, 'row')} at the bottom"] * bool(eh)
            + [f"{plural(ew, 'column')} at the right"] * bool(ew)
        )
        lead = "plus" if border else "pad zeros:"
        pieces.append(f"{lead} {more} for the input no window reached")
    if any(p):
        pieces.append(f"then crop the {p[0]}×{p[1]} forward padding off the result")
    return "; ".join(pieces) or "a kernel spanning a single cell needs no padding"


def _conv2d_dx(m: Math, t: Typeset) -> list[Step]:
    h, w = m.params["input_shape"]
    p = m.params["padding"]
    pat = m.patterns[CONV_DX]
    steps = [chain_rule_step(m, t, "X", (0, 0))]
    busy = _busiest(m.jac["X"])
    if busy != (0, 0):
        steps.append(chain_rule_step(m, t, "X", busy))
    steps.append(all_grads_step(m, t, "X", text=_fan_out_text(m.jac["X"], h * w)))
    crop = r"\mathrm{crop}" if any(p) else ""
    steps.append(
        Step(
            "Pattern: ∂L/∂X = pad(∂L/∂Z) ⊛ rot180(K)",
            t.gathered(
                rf"\frac{{\partial L}}{{\partial X}} = {crop}\left(\mathrm{{pad}}\left(\frac{{\partial L}}{{\partial Z}}\right) \circledast \mathrm{{rot180}}(K)\right)",
                # written as crop(F), F = …: \left( … \right) could not break across lines
                ([r"= \mathrm{crop}(F), \quad F"] if any(p) else [])
                + [
                    f"= {t.bmatrix(pat.operands['pad(dZ)'])}",
                    rf"\circledast {t.bmatrix(pat.operands['rot180(K)'])}{check_mark(pat.ok)}",
                ],
            ),
            "Correlate the zero-padded upstream gradient with the kernel rotated by 180° (both axes "
            f"flipped): {_dx_recipe(m)}. sympy checked every entry against the chain-rule sums.",
            kind="pattern",
            focus="X",
            proven=pat.ok,
        )
    )
    return steps


def _is_notes_example(m: Math, **expected) -> bool:
    return all(m.params[k] == v for k, v in expected.items())


NOTES_CONV2D = dict(
    input_shape=(3, 3), kernel_shape=(2, 2), stride=(1, 1), padding=(0, 0), dilation=(1, 1)
)


def _conv2d_mistake(t: Typeset) -> Step:
    return Step(
        "Common mistake (note 003)",
        t.gathered(
            r"\frac{\partial L}{\partial k_{22}} = \cancel{\frac{\partial L}{\partial z_{11}} x_{21}} + \dots"
            r"\quad\text{should be}",
            r"\frac{\partial L}{\partial k_{22}} = \frac{\partial L}{\partial z_{11}} x_{22} + "
            r"\frac{\partial L}{\partial z_{12}} x_{23} + \frac{\partial L}{\partial z_{21}} x_{32} + \frac{\partial L}{\partial z_{22}} x_{33}",
        ),
        "k22 multiplies the bottom-right cell of each window, so z11 contributes x22, not x21. "
        "Reading the window from the expansion of z11 avoids the slip.",
        kind="mistake",
        focus="K",
    )


def _dk_subscript(s, dl) -> str:
    """The ⊛ of ∂L/∂K = X ⊛ ∂L/∂Z: the forward stride spaces the upstream entries (a dilation
    here) and the forward dilation becomes the stride; both go in one subscript (two would be a
    double-subscript error)."""
    how = [rf"\text{{dilation}}\,{s[0]},{s[1]}"] if any(v != 1 for v in s) else []
    how += [rf"\text{{stride}}\,{dl[0]},{dl[1]}"] if any(v != 1 for v in dl) else []
    return "_{" + r";\ ".join(how) + "}" if how else ""


def _conv2d_summary(m: Math, t: Typeset) -> Step:
    s, p, dl = m.params["stride"], m.params["padding"], m.params["dilation"]
    strided, dilated = any(v != 1 for v in s), any(v != 1 for v in dl)
    x = r"\mathrm{pad}(X)" if any(p) else "X"
    dz = (
        r"\mathrm{spread}\!\left(\frac{\partial L}{\partial Z}\right)"
        if strided
        else (r"\frac{\partial L}{\partial Z}")
    )
    k = r"\mathrm{dilate}(K)" if dilated else "K"
    dx = rf"\mathrm{{pad}}\!\left({dz}\right) \circledast \mathrm{{rot180}}({k})"
    if any(p):
        dx = rf"\mathrm{{crop}}\left({dx}\right)"
    notes = [
        "the stride spreads the upstream gradient out with zeros between its entries"
    ] * strided
    notes += ["the dilation spreads the kernel the same way"] * dilated
    why = "Backward through a convolution is two more convolutions"
    why += (": " + " and ".join(notes) if notes else "") + ". "
    return Step(
        "Summary",
        t.gathered(
            [
                rf"\frac{{\partial L}}{{\partial K}} = {x} \circledast{_dk_subscript(s, dl)} \frac{{\partial L}}{{\partial Z}},",
                r"\quad \frac{\partial L}{\partial b} = \sum \frac{\partial L}{\partial Z},",
                rf"\quad \frac{{\partial L}}{{\partial X}} = {dx}",
            ]
        ),
        why + CHANNELS_NOTE,
        kind="result",
    )


def conv2d_lesson(m: Math, t: Typeset) -> list[Step]:
    steps = _conv2d_intro(m, t) + _conv2d_dk(m, t)
    steps.append(
        _bias_step(
            m,
            r" \cdot \underbrace{\frac{\partial z_{ij}}{\partial b}}_{=1}"
            r" = \sum_{i,j} \frac{\partial L}{\partial z_{ij}}",
            "b is added to every output, so its gradient is the sum of the whole upstream gradient.",
        )
    )
    steps += _conv2d_dx(m, t)
    if _is_notes_example(m, **NOTES_CONV2D):
        steps.append(_conv2d_mistake(t))
    steps.append(_conv2d_summary(m, t))
    return steps


# ---------------------------------------------------------------- transposed convolution


def _transposed_intro(m: Math, t: Typeset) -> list[Step]:
    (h, w), s = m.params["input_shape"], m.params["stride"]
    ho, wo = _conv(m).out
    return [
        Step(
            "Setup",
            _setup_tex(m, t, r"\circledast^{\top}"),
            f"A transposed convolution runs a convolution backwards: each input pixel xᵢⱼ stamps a "
            f"copy of K, scaled by xᵢⱼ, into the output at {s[0]}×{s[1]} steps, and overlapping "
            f"stamps add up. It grows {article(h)} {h}×{w} input into {article(ho)} {ho}×{wo} output. {CHANNELS_NOTE}",
            kind="setup",
            focus="Z",
        ),
        forward_step(
            m,
            t,
            lambda o: expansion_parts(m.inputs, sums(m)[o]),
            "Each output collects every stamp that lands on it.",
            busiest=longest(sums(m)),
        ),
    ]


def _as_convolution(m: Math, t: Typeset) -> Step:
    s, dl = m.params["stride"], m.params["dilation"]
    ih = _conv(m).implicit_padding[0]
    pat = m.patterns[CONV_T_FORWARD]
    dilated = any(v != 1 for v in dl)
    iw = _conv(m).implicit_padding[1]
    pieces = []
    if any(v != 1 for v in s):
        between = _rows_and_columns(s[0] - 1, s[1] - 1)
        pieces.append(f"put {between} of zeros between the input's entries (the stride)")
    pieces += _border(ih, iw)
    oh, ow = m.params["output_padding"]
    if oh or ow:  # PyTorch adds it at the bottom and the right only
        more = " and ".join(
            [f"{plural(oh, 'more row')} at the bottom"] * bool(oh)
            + [f"{plural(ow, 'more column')} at the right"] * bool(ow)
        )
        pieces.append(f"then {more} (the output padding)")
    how = "; ".join(pieces) + ", and correlate" if pieces else "Correlate the input directly"
    return Step(
        "The same thing as an ordinary convolution",
        t.gathered(
            [
                f"Z = {t.bmatrix(pat.operands['pad(X)'])}",
                rf"\circledast {t.bmatrix(pat.operands['rot180(K)'])} + b",
            ],
            rf"\text{{implicit padding}} = {'d(k-1)' if dilated else 'k'} - p"
            rf"{'' if dilated else ' - 1'} = {ih if ih == iw else (ih, iw)}{check_mark(pat.ok)}",
        ),
        f"{how[0].upper()}{how[1:]} with the kernel rotated by 180°: the same outputs, which "
        "sympy checked.",
        kind="pattern",
        focus="Z",
        proven=pat.ok,
    )


def _transposed_grads(m: Math, t: Typeset) -> list[Step]:
    s = m.params["stride"]
    pk, px = m.patterns[CONV_T_DK], m.patterns[CONV_T_DX]
    strided = rf"_{{\text{{stride}}\,{s[0]},{s[1]}}}" if any(v != 1 for v in s) else ""
    return [
        chain_rule_step(m, t, "K", (0, 0)),
        all_grads_step(m, t, "K"),
        Step(
            "Pattern: ∂L/∂K = ∂L/∂Z ⊛ X",
            t.gathered(
                [
                    rf"\frac{{\partial L}}{{\partial K}} = {t.bmatrix(pk.operands['dZ'])}",
                    rf"\circledast {t.bmatrix(pk.operands['X'])}{check_mark(pk.ok)}",
                ]
            ),
            "Each weight kₘₙ met every input pixel whose stamp landed inside the output, at an "
            "offset (m, n): correlate the upstream gradient with X"
            + (f" spread {s[0]}×{s[1]} apart (the stride)" if any(v != 1 for v in s) else "")
            + ". sympy checked every entry.",
            kind="pattern",
            focus="K",
            proven=pk.ok,
        ),
        _bias_step(m),
        chain_rule_step(m, t, "X", (0, 0)),
        all_grads_step(m, t, "X"),
        Step(
            "Pattern: ∂L/∂X = ∂L/∂Z ⊛ K",
            t.gathered(
                [
                    rf"\frac{{\partial L}}{{\partial X}} = {t.bmatrix(px.operands['dZ'])}",
                    rf"\circledast{strided} "
                    + t.bmatrix(px.operands["K"], lead=visible_len(rf"\circledast{strided}") + 5)
                    + check_mark(px.ok),
                ]
            ),
            "Going back through a transposed convolution is an ordinary (strided) convolution with "
            "the unrotated kernel: each xᵢⱼ collects the upstream gradient over the patch it "
            "stamped. sympy checked every entry.",
            kind="pattern",
            focus="X",
            proven=px.ok,
        ),
    ]


NOTES_TRANSPOSED = dict(
    input_shape=(2, 2),
    kernel_shape=(2, 2),
    stride=(1, 1),
    padding=(0, 0),
    output_padding=(0, 0),
    dilation=(1, 1),
)


def _transposed_mistake() -> Step:
    return Step(
        "Common mistakes (note 001)",
        r"\begin{aligned} \frac{\partial L}{\partial k_{11}} &= \dots + \cancel{\frac{\partial L}{\partial z_{21}} x_{11} + \frac{\partial L}{\partial z_{22}} x_{12}}"
        r" \;\to\; \frac{\partial L}{\partial z_{21}} x_{21} + \frac{\partial L}{\partial z_{22}} x_{22} \\"
        r" \frac{\partial L}{\partial x_{22}} &= \cancel{\frac{\partial L}{\partial z_{21}} k_{11}} + \dots \;\to\; \frac{\partial L}{\partial z_{22}} k_{11} + \dots \\"
        r" \frac{\partial L}{\partial Z} \cancel{\odot} K &\;\to\; \frac{\partial L}{\partial Z} \circledast K \end{aligned}",
        "Note 001 copies x11, x12 into the last two terms of ∂L/∂k11 (they are x21, x22), starts "
        "∂L/∂x22 at z21 instead of z22, and writes the final pattern with ⊙ (element-wise) where "
        "it is the valid cross-correlation ⊛.",
        kind="mistake",
        focus="K",
    )


def conv_transpose2d_lesson(m: Math, t: Typeset) -> list[Step]:
    steps = _transposed_intro(m, t) + [_as_convolution(m, t)] + _transposed_grads(m, t)
    if _is_notes_example(m, **NOTES_TRANSPOSED):
        steps.append(_transposed_mistake())
    steps.append(
        Step(
            "Summary",
            t.gathered(
                [
                    r"\frac{\partial L}{\partial K} = \frac{\partial L}{\partial Z} \circledast X,",
                    r"\quad \frac{\partial L}{\partial b} = \sum \frac{\partial L}{\partial Z},",
                    r"\quad \frac{\partial L}{\partial X} = \frac{\partial L}{\partial Z} \circledast K",
                ]
            ),
            "A transposed convolution's backward pass is an ordinary convolution: the two are each "
            "other's adjoint. " + CHANNELS_NOTE,
            kind="result",
        )
    )
    return steps
