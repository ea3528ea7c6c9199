"""Conv2D and transposed Conv2D, single channel, any size, stride, padding and dilation."""

from __future__ import annotations

import sympy as sp

from .core import (
    Step,
    all_grads_step,
    as_pair,
    as_shape,
    assemble,
    bmatrix,
    chain_rule_step,
    check_mark,
    correlate,
    dilate,
    expansion_parts,
    forward_step,
    gathered,
    jacobian_from_terms,
    outputs_from_terms,
    pad,
    plural,
    prove,
    rot180,
    symbol_matrix,
)

CHANNELS_NOTE = (
    "With several channels nothing new happens: each output channel sums this single-channel "
    "result over the input channels, and each input channel's gradient sums over the output "
    "channels it fed."
)


def _geometry(op, input_shape, kernel_shape, stride, padding, dilation):
    h, w = as_shape(op, "input_shape", input_shape)
    kh, kw = as_shape(op, "kernel_shape", kernel_shape)
    s = as_pair(op, "stride", stride, 1)
    p = as_pair(op, "padding", padding, 0)
    d = as_pair(op, "dilation", dilation, 1)
    return (h, w), (kh, kw), s, p, d


def _setup_tex(d, op_tex, hw, k, s, p, dl, out, opad=None):
    """'X ⊛ K + b = Z' (flowed to fit) above the output-size formulas; ``opad`` (the output
    padding) marks the transposed convolution."""
    X, K = d.inputs["X"], d.inputs["K"]
    t = opad is not None
    opad = opad or (0, 0)
    sizes = [
        f"{name}_{{out}} &= {_size_formula(hw[a], k[a], s[a], p[a], dl[a], out[a], t, opad[a])}"
        for a, name in enumerate("HW")
    ]
    return gathered(
        [bmatrix(X), f"{op_tex} {bmatrix(K)}", "+ b", f"= {bmatrix(d.out_symbols)}"],
        r"\begin{aligned} " + r" \\ ".join(sizes) + r" \end{aligned}",
    )


def _size_formula(n, k, s, p, d, out, transposed=False, op_=0):
    if transposed:
        return rf"({n}-1)\cdot {s} - 2\cdot {p} + {d}\cdot({k}-1) + {op_} + 1 = {out}"
    return rf"\left\lfloor \frac{{{n} + 2\cdot {p} - {d}\cdot({k}-1) - 1}}{{{s}}} \right\rfloor + 1 = {out}"


def _inputs(x_shape, k_shape):
    return {
        "X": symbol_matrix("x", x_shape),
        "K": symbol_matrix("k", k_shape),
        "b": sp.Matrix([[sp.Symbol("b")]]),
    }


def _bias_step(d, extra: str = "", why: str = "b is added to every output.") -> Step:
    """∂L/∂b = Σ ∂L/∂Z, proven: the bias feeds every output once."""
    ok = prove(d, "db = sum(dZ)", d.grads["b"], sp.Matrix([[sp.Add(*d.upstream)]]))
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


def derive_conv2d(input_shape=(3, 3), kernel_shape=(2, 2), stride=1, padding=0, dilation=1):
    op = "conv2d"
    (h, w), (kh, kw), s, p, dl = _geometry(op, input_shape, kernel_shape, stride, padding, dilation)
    for ax, (n, k, pp, dd) in enumerate(zip((h, w), (kh, kw), p, dl)):
        if dd * (k - 1) + 1 > n + 2 * pp:
            side = "rows" if ax == 0 else "columns"
            raise ValueError(
                f"conv2d: the kernel spans {dd * (k - 1) + 1} {side} (with dilation {dd}) but the "
                f"padded input has only {n + 2 * pp}. Use a smaller kernel or dilation, or more padding."
            )
    ho = (h + 2 * p[0] - dl[0] * (kh - 1) - 1) // s[0] + 1
    wo = (w + 2 * p[1] - dl[1] * (kw - 1) - 1) // s[1] + 1
    inputs = _inputs((h, w), (kh, kw))
    terms = {}
    for i in range(ho):
        for j in range(wo):
            t = []
            for m in range(kh):
                for n in range(kw):
                    r, c = i * s[0] + m * dl[0] - p[0], j * s[1] + n * dl[1] - p[1]
                    if 0 <= r < h and 0 <= c < w:  # a padding zero contributes nothing
                        t.append((1, [("X", (r, c)), ("K", (m, n))]))
            t.append((1, [("b", (0, 0))]))
            terms[(i, j)] = t
    jac = jacobian_from_terms(inputs, terms)
    output = outputs_from_terms((ho, wo), inputs, terms)
    params = dict(input_shape=(h, w), kernel_shape=(kh, kw), stride=s, padding=p, dilation=dl)
    d = assemble(op, params, inputs, output, jac, out_name="Z", out_letter="z", loss="L")
    X, K, G = inputs["X"], inputs["K"], d.upstream
    steps = d.steps

    extras = []
    if any(v != 1 for v in s):
        extras.append(f"stride {s[0]}×{s[1]}")
    if any(p):
        extras.append(f"padding {p[0]}×{p[1]}")
    if any(v != 1 for v in dl):
        extras.append(f"dilation {dl[0]}×{dl[1]}")
    how = ", ".join(extras) or "stride 1, no padding"
    steps.append(
        Step(
            "Setup",
            _setup_tex(d, r"\circledast", (h, w), (kh, kw), s, p, dl, (ho, wo)),
            f"A {h}×{w} input X slides a {kh}×{kw} kernel K ({how}); every output zᵢⱼ is the sum of "
            f"a window of X times K, plus the bias b. ⊛ is cross-correlation (no kernel flip), as in "
            f"every deep-learning framework. {CHANNELS_NOTE}",
            kind="setup",
            focus="Z",
        )
    )
    steps.append(
        forward_step(
            d,
            lambda o: expansion_parts(d.inputs, terms[o]),
            "Each output multiplies one window of X by K entry by entry and adds b"
            + (" (window cells in the padding are 0 and drop out)." if any(p) else "."),
        )
    )

    # ∂L/∂K
    steps.append(chain_rule_step(d, "K", (0, 0)))
    steps.append(
        all_grads_step(
            d,
            "K",
            text=(
                "Each kernel weight touched every output once, so each ∂L/∂k sums over all of ∂L/∂Z."
                if all(len(v) == ho * wo for v in jac["K"].values())
                else "A kernel weight only meets the outputs whose window puts a real input (not "
                "padding) under it, so some sums are shorter."
            ),
        )
    )
    xp = pad(X, p[0], p[0], p[1], p[1])
    dk = correlate(xp, G, stride=dl, dilation=s, out_shape=(kh, kw))
    ok = prove(d, "dK = pad(X) ⊛ dZ", d.grads["K"], dk)
    pad_txt = rf"\mathrm{{pad}}_{{{p[0]},{p[1]}}}(X)" if any(p) else "X"
    # the forward stride spaces the upstream entries (a dilation here) and the forward dilation
    # becomes the stride; both go in one subscript (two would be a double-subscript error)
    how = [rf"\text{{dilation}}\,{s[0]},{s[1]}"] if any(v != 1 for v in s) else []
    how += [rf"\text{{stride}}\,{dl[0]},{dl[1]}"] if any(v != 1 for v in dl) else []
    dil_txt = "_{" + r";\ ".join(how) + "}" if how else ""
    steps.append(
        Step(
            "Pattern: ∂L/∂K = X ⊛ ∂L/∂Z",
            gathered(
                rf"\frac{{\partial L}}{{\partial K}} = {pad_txt} \circledast{dil_txt} \frac{{\partial L}}{{\partial Z}}",
                [
                    f"= {bmatrix(X if not any(p) else xp)}",
                    rf"\circledast{dil_txt} {bmatrix(G)}{check_mark(ok)}",
                ],
            ),
            "The kernel gradient is the input correlated with the upstream gradient"
            + (
                f": the upstream's entries sit {s[0]}×{s[1]} apart because of the stride"
                if any(v != 1 for v in s)
                else ""
            )
            + (", and the result is cropped to K's size" if dk.shape != K.shape else "")
            + ". sympy checked every entry against the chain-rule sums above.",
            kind="pattern",
            focus="K",
            proven=ok,
        )
    )

    # ∂L/∂b
    steps.append(
        _bias_step(
            d,
            r" \cdot \underbrace{\frac{\partial z_{ij}}{\partial b}}_{=1}"
            r" = \sum_{i,j} \frac{\partial L}{\partial z_{ij}}",
            "b is added to every output, so its gradient is the sum of the whole upstream gradient.",
        )
    )

    # ∂L/∂X
    steps.append(chain_rule_step(d, "X", (0, 0)))
    busy = _busiest(jac["X"])
    if busy != (0, 0):
        steps.append(chain_rule_step(d, "X", busy))
    steps.append(
        all_grads_step(
            d,
            "X",
            text=_fan_out_text(jac["X"], h * w),
        )
    )
    # pad(dilate(dZ)) ⊛ rot180(dilate(K)), then crop the padding back off
    gd = dilate(G, s)
    kd = dilate(K, dl)
    eh = (h + 2 * p[0] - dl[0] * (kh - 1) - 1) % s[0]  # rows the last window never reached
    ew = (w + 2 * p[1] - dl[1] * (kw - 1) - 1) % s[1]
    gp = pad(gd, kd.rows - 1, kd.rows - 1 + eh, kd.cols - 1, kd.cols - 1 + ew)
    full = correlate(gp, rot180(kd))
    dx = pad(full, -p[0], -p[0], -p[1], -p[1])
    ok_x = prove(d, "dX = pad(dZ) ⊛ rot180(K)", d.grads["X"], dx)
    pieces = []
    if any(v != 1 for v in s):
        pieces.append(
            f"first spread ∂L/∂Z out with {s[0] - 1}×{s[1] - 1} zeros between entries (the stride)"
        )
    pieces.append(f"pad it with {kd.rows - 1}×{kd.cols - 1} zeros (kernel span − 1)")
    if eh or ew:
        pieces.append(
            f"plus {eh}×{ew} more at the bottom/right for input rows/columns no window reached"
        )
    if any(p):
        pieces.append(f"then crop the {p[0]}×{p[1]} forward padding off the result")
    crop = r"\mathrm{crop}" if any(p) else ""
    steps.append(
        Step(
            "Pattern: ∂L/∂X = pad(∂L/∂Z) ⊛ rot180(K)",
            gathered(
                rf"\frac{{\partial L}}{{\partial X}} = {crop}\left(\mathrm{{pad}}\left(\frac{{\partial L}}{{\partial Z}}\right) \circledast \mathrm{{rot180}}(K)\right)",
                # written as crop(F), F = …: \left( … \right) could not break across lines
                ([r"= \mathrm{crop}(F), \quad F"] if any(p) else [])
                + [
                    f"= {bmatrix(gp)}",
                    rf"\circledast {bmatrix(rot180(kd))}{check_mark(ok_x)}",
                ],
            ),
            "Correlate the zero-padded upstream gradient with the kernel rotated by 180° (both axes "
            "flipped): "
            + "; ".join(pieces)
            + ". sympy checked every entry against the chain-rule sums.",
            kind="pattern",
            focus="X",
            proven=ok_x,
        )
    )

    if (h, w, kh, kw, s, p, dl) == (3, 3, 2, 2, (1, 1), (0, 0), (1, 1)):
        steps.append(
            Step(
                "Common mistake (note 003)",
                gathered(
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
        )
    steps.append(
        Step(
            "Summary",
            gathered(
                [
                    r"\frac{\partial L}{\partial K} = X \circledast \frac{\partial L}{\partial Z},",
                    r"\quad \frac{\partial L}{\partial b} = \sum \frac{\partial L}{\partial Z},",
                    r"\quad \frac{\partial L}{\partial X} = \mathrm{pad}\!\left(\frac{\partial L}{\partial Z}\right) \circledast \mathrm{rot180}(K)",
                ]
            ),
            "Backward through a convolution is two more convolutions. " + CHANNELS_NOTE,
            kind="result",
        )
    )
    return d


def derive_conv_transpose2d(
    input_shape=(2, 2), kernel_shape=(2, 2), stride=1, padding=0, output_padding=0, dilation=1
):
    op = "conv_transpose2d"
    (h, w), (kh, kw), s, p, dl = _geometry(op, input_shape, kernel_shape, stride, padding, dilation)
    opad = as_pair(op, "output_padding", output_padding, 0)
    for o, ss, dd in zip(opad, s, dl):
        if o >= max(ss, dd):
            raise ValueError(
                f"conv_transpose2d: output_padding must be smaller than the stride "
                f"(or dilation); you gave output_padding {o} with stride {ss}."
            )
    ho = (h - 1) * s[0] - 2 * p[0] + dl[0] * (kh - 1) + opad[0] + 1
    wo = (w - 1) * s[1] - 2 * p[1] + dl[1] * (kw - 1) + opad[1] + 1
    if ho < 1 or wo < 1:
        raise ValueError(
            f"conv_transpose2d: padding {p} crops away the whole output "
            f"({ho}×{wo}); use less padding or a larger input."
        )
    if max(ho, wo) > 2 * 16:
        raise ValueError(
            f"conv_transpose2d: the output would be {ho}×{wo}; keep it within 32×32 "
            "(smaller input, kernel or stride) so the derivation stays readable."
        )
    inputs = _inputs((h, w), (kh, kw))
    terms = {(i, j): [] for i in range(ho) for j in range(wo)}
    for i in range(h):  # each input pixel stamps a scaled copy of K into the output
        for j in range(w):
            for m in range(kh):
                for n in range(kw):
                    r, c = i * s[0] + m * dl[0] - p[0], j * s[1] + n * dl[1] - p[1]
                    if 0 <= r < ho and 0 <= c < wo:
                        terms[(r, c)].append((1, [("X", (i, j)), ("K", (m, n))]))
    for t in terms.values():
        t.append((1, [("b", (0, 0))]))
    jac = jacobian_from_terms(inputs, terms)
    output = outputs_from_terms((ho, wo), inputs, terms)
    params = dict(
        input_shape=(h, w),
        kernel_shape=(kh, kw),
        stride=s,
        padding=p,
        output_padding=opad,
        dilation=dl,
    )
    d = assemble(op, params, inputs, output, jac, out_name="Z", out_letter="z", loss="L")
    X, K, G = inputs["X"], inputs["K"], d.upstream
    steps = d.steps
    steps.append(
        Step(
            "Setup",
            _setup_tex(d, r"\circledast^{\top}", (h, w), (kh, kw), s, p, dl, (ho, wo), opad),
            f"A transposed convolution runs a convolution backwards: each input pixel xᵢⱼ stamps a "
            f"copy of K, scaled by xᵢⱼ, into the output at {s[0]}×{s[1]} steps, and overlapping "
            f"stamps add up. It grows a {h}×{w} input into a {ho}×{wo} output. {CHANNELS_NOTE}",
            kind="setup",
            focus="Z",
        )
    )
    steps.append(
        forward_step(
            d,
            lambda o: expansion_parts(d.inputs, terms[o]),
            "Each output collects every stamp that lands on it.",
        )
    )
    # as a plain convolution: zero-insert, pad by d(k-1) - p (the notes' k - p - 1), rot180(K)
    ih, iw = dl[0] * (kh - 1) - p[0], dl[1] * (kw - 1) - p[1]
    xz = pad(dilate(X, s), ih, ih + opad[0], iw, iw + opad[1])
    kd = dilate(K, dl)
    conv_form = correlate(xz, rot180(kd)).applyfunc(lambda e: e + inputs["b"][0, 0])
    ok_f = prove(d, "Z = pad(X) ⊛ rot180(K) + b", d.output, conv_form)
    steps.append(
        Step(
            "The same thing as an ordinary convolution",
            gathered(
                [f"Z = {bmatrix(xz)}", rf"\circledast {bmatrix(rot180(kd))} + b"],
                rf"\text{{implicit padding}} = {'d(k-1)' if any(v != 1 for v in dl) else 'k'} - p"
                rf"{'' if any(v != 1 for v in dl) else ' - 1'} = {ih}{check_mark(ok_f)}",
            ),
            (
                "Put "
                + (
                    f"{s[0] - 1}×{s[1] - 1} zeros between the input's entries (the stride), then "
                    if any(v != 1 for v in s)
                    else ""
                )
                + f"pad with {ih} zero{'s' if ih != 1 else ''} (a negative amount crops), "
                "and correlate with the kernel rotated by 180°: the same outputs, which sympy checked."
            ),
            kind="pattern",
            focus="Z",
            proven=ok_f,
        )
    )

    steps.append(chain_rule_step(d, "K", (0, 0)))
    steps.append(all_grads_step(d, "K"))
    gp = pad(G, p[0], p[0], p[1], p[1])
    dk = correlate(gp, X, stride=dl, dilation=s, out_shape=(kh, kw))
    ok_k = prove(d, "dK = dZ ⊛ X", d.grads["K"], dk)
    steps.append(
        Step(
            "Pattern: ∂L/∂K = ∂L/∂Z ⊛ X",
            gathered(
                [
                    rf"\frac{{\partial L}}{{\partial K}} = {bmatrix(gp)}",
                    rf"\circledast {bmatrix(X)}{check_mark(ok_k)}",
                ]
            ),
            "Each weight kₘₙ met every input pixel whose stamp landed inside the output, at an "
            "offset (m, n): correlate the upstream gradient with X"
            + (f" spread {s[0]}×{s[1]} apart (the stride)" if any(v != 1 for v in s) else "")
            + ". sympy checked every entry.",
            kind="pattern",
            focus="K",
            proven=ok_k,
        )
    )
    steps.append(_bias_step(d))
    steps.append(chain_rule_step(d, "X", (0, 0)))
    steps.append(all_grads_step(d, "X"))
    dx = correlate(gp, K, stride=s, dilation=dl, out_shape=(h, w))
    ok_x = prove(d, "dX = dZ ⊛ K", d.grads["X"], dx)
    strided = rf"_{{\text{{stride}}\,{s[0]},{s[1]}}}" if any(v != 1 for v in s) else ""
    steps.append(
        Step(
            "Pattern: ∂L/∂X = ∂L/∂Z ⊛ K",
            gathered(
                [
                    rf"\frac{{\partial L}}{{\partial X}} = {bmatrix(gp)}",
                    rf"\circledast{strided} {bmatrix(K)}{check_mark(ok_x)}",
                ]
            ),
            "Going back through a transposed convolution is an ordinary (strided) convolution with "
            "the unrotated kernel: each xᵢⱼ collects the upstream gradient over the patch it stamped. "
            "sympy checked every entry.",
            kind="pattern",
            focus="X",
            proven=ok_x,
        )
    )
    if (h, w, kh, kw, s, p, dl, opad) == (2, 2, 2, 2, (1, 1), (0, 0), (1, 1), (0, 0)):
        steps.append(
            Step(
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
        )
    steps.append(
        Step(
            "Summary",
            gathered(
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
    return d
