"""Hostile text for everything that reads what a learner types (parse, check_answer,
custom_function): code injection, resource bombs and junk. Each entry is (id, text). The
injections would create a file named MARKER in the current directory if any of them ran."""

MARKER = "MARKER"

INJECTION = [
    ("import-system", "__import__('os').system('touch MARKER')"),
    ("import-no-quotes", "__import__(os).system(touch)"),
    ("class-bases", "().__class__.__bases__[0].__subclasses__()"),
    ("dunder-attr", "x.__class__"),
    ("lambda", "(lambda: __import__('os').system('touch MARKER'))()"),
    ("lambda-plain", "lambda x: x"),
    ("listcomp", "[open('MARKER', 'w') for _ in (1,)]"),
    ("listcomp-plain", "[x for x in x]"),
    ("genexp", "sum(x for x in x)"),
    ("fstring", 'f\'{__import__("os").system("touch MARKER")}\''),
    ("walrus", "(y := 2)"),
    ("exec", 'exec(\'open("MARKER", "w")\')'),
    ("eval", "eval('1')"),
    ("eval-bare", "eval"),
    ("open", "open('MARKER', 'w')"),
    ("open-bare-args", "open(MARKER)"),
    ("getattr", "getattr(x, 'real')"),
    ("globals", "globals()"),
    ("subscript", "x[0]"),
    ("subscript-call", "exp[0](x)"),
    ("keyword-arg", "exp(x=1)"),
    ("starred", "exp(*x)"),
    ("double-starred", "exp(**x)"),
    ("conditional", "x if x else x"),
    ("boolean", "x and x"),
    ("not", "not x"),
    ("string", "'x'"),
    ("bytes", "b'x'"),
    ("dict", "{1: 2}"),
    ("set", "{x}"),
    ("tuple", "x, x"),
    ("semicolon", "x; __import__('os')"),
    ("newline-statement", "x\nimport os"),
    ("backslash", "x \\\n + 1"),
    ("matmul", "x @ x"),
    ("mod", "x % 2"),
    ("floordiv", "x // 2"),
    ("bitwise", "x | x & x"),
    ("shift", "x << 2"),
    ("invert", "~x"),
    ("await", "await x"),
    ("yield", "(yield x)"),
    ("complex", "1j"),
    ("hex", "0x1F"),
    ("underscore-number", "1_000"),
    ("sympy-name", "Symbol"),
    ("sympy-call", "Symbol(x)"),
    ("sympify-call", "sympify(x)"),
    ("dunder-name", "__builtins__"),
    ("equation", "dz11 = x"),
    ("comparison-bare", "x > 0"),
    ("chained", "[0 < x < 1]"),
    ("equality", "[x == 0]"),
]

BOMBS = [
    ("tower", "9**9**9**9"),
    ("tower-caret", "9^9^9^9"),
    ("huge-exponent", "x**99999999"),
    ("negative-exponent", "x**-99999999"),
    ("exp-tower", "exp(exp(exp(exp(100))))"),
    ("exp-huge", "exp(1000)"),
    ("long", "x" * 10_000),
    ("long-sum", "+".join(["x"] * 5000)),
    ("deep-parens", "(" * 500 + "x" + ")" * 500),
    ("deep-calls", "exp(" * 100 + "x" + ")" * 100),
    ("deep-unary", "-" * 250 + "x"),
    ("huge-literal", "9" * 250),
    ("huge-literal-exp", "1e99999"),
    ("tiny-literal", "1e-99999"),
    ("long-product", "*".join(["x"] * 3000)),
    ("nested-powers", "((((x^10)^10)^10)^10)^10"),
    ("constant-powers", "((10^10)^10)^10"),
    ("big-factorial-like", "*".join(["999999999999"] * 30)),
    ("power-of-sum", "(x+1)^10^10"),
    ("symbolic-exponent", "2^x"),
    ("sqrt-exponent", "x^sqrt(2)"),
    ("nodes", "+".join(["x*x"] * 60)),
]

JUNK = [
    ("empty", ""),
    ("spaces", "   "),
    ("tab-newline", "\t\n"),
    ("control", "x\x07"),
    ("nul", "x\x00+1"),
    ("zero-width", "x\u200b+1"),
    ("bom", "\ufeffx"),
    ("rtl-mark", "x\u200f+1"),
    ("superscript", "x²"),
    ("subscript", "x₁₁"),
    ("sqrt-sign", "√x"),
    ("pi", "π*x"),
    ("division-by-zero", "1/0"),
    ("division-by-zero-symbolic", "x/(x - x)"),
    ("log-zero", "log(0)"),
    ("log-negative", "log(-2)"),
    ("sqrt-negative", "sqrt(-1)"),
    ("zero-power", "0^-1"),
    ("nan", "nan"),
    ("inf", "inf"),
    ("operator-pair", "x +* x"),
    ("operator-start", "* x"),
    ("operator-end", "x +"),
    ("unknown-name", "q7"),
    ("unknown-function", "foo(x)"),
    ("ln", "ln(x)"),
    ("two-arguments", "exp(x, x)"),
    ("no-arguments", "exp()"),
    ("empty-parens", "()"),
    ("unclosed", "(x + 1"),
    ("unopened", "x + 1)"),
    ("mismatched", "(x + 1]"),
    ("implicit-product", "2x"),
    ("name-call", "x(x)"),
    ("dot", "x.5.5"),
    ("brackets-two", "[x, x]"),
    ("brackets-empty", "[]"),
    ("e", "e^x"),
]

ALL = INJECTION + BOMBS + JUNK


# Answers a hostile learner types to have something wrong called "Correct":
# undefined at some points, different only far from 0 or by a relative 10⁻⁹, a condition the
# lesson does not have. (id, op, derive parameters, gradient, 0-based entry, text); each must
# be refused and scored as wrong.
_RELU = ("relu", {"shape": (2, 2)}, "X", (0, 1))  # expected dy12*[x12 > 0]
_CONV = ("conv2d", {}, "X", (0, 0))  # dz11*k11
_SIGMOID = ("sigmoid", {"shape": (2, 2)}, "X", (0, 0))
_TANH = ("tanh", {"shape": (2, 2)}, "X", (0, 0))
_LOG = ("log", {"shape": (2, 2)}, "X", (0, 0))
_DIV = ("div", {"shape": (2, 2)}, "N", (0, 0))
_SOFTMAX = ("softmax_cross_entropy", {"num_classes": 3, "target": 0}, "f", (0, 1))  # dL_i*p2
_SOFTMAX_T = ("softmax_cross_entropy", {"num_classes": 3, "target": 0}, "f", (0, 0))
_POOL = ("max_pool2d", {"input_shape": (2, 2), "kernel_size": 2}, "X", (0, 1))
_LEAKY = ("leaky_relu", {"shape": (2, 2)}, "X", (0, 0))
_MEAN = ("mean", {"shape": (2, 2)}, "X", (0, 0))


def _case(ident, where, text):
    return (ident, *where, text)


WRONG = [
    _case("relu-sqrt", _RELU, "sqrt(-dy12^2)"),
    _case("relu-sqrt-1000", _RELU, "1000*sqrt(-dy12^2)"),
    _case("relu-over-x", _RELU, "dy12*relu(x12)/x12"),
    _case("relu-abs-over-x", _RELU, "dy12*(x12+abs(x12))/(2*x12)"),
    _case("relu-half-at-kink", _RELU, "dy12*(sign(x12) + 1)/2"),
    _case("relu-far", _RELU, "dy12*[x12 > 0] + 1000*relu(x12 - 2)"),
    _case("relu-clipped", _RELU, "dy12*[x12 > 0]*[abs(x12) <= 2]"),
    _case("relu-plus-tiny", _RELU, "dy12*[x12 > 0] + 0.000000001"),
    _case("relu-times-1e-9", _RELU, "(dy12*[x12 > 0])*1.000000001"),
    _case("relu-times-1e-15", _RELU, "dy12*[x12 > 0]*1.000000000000001"),
    _case("conv-sqrt", _CONV, "sqrt(-dz11^2)"),
    _case("conv-sqrt-1000", _CONV, "1000*sqrt(-dz11^2)"),
    _case("conv-relu-far", _CONV, "dz11*k11 + 1000*relu(k11 - 2)"),
    _case("conv-condition-far", _CONV, "dz11*k11 + [k11 > 2]"),
    _case("conv-clipped", _CONV, "(dz11*k11)*[abs(k11) <= 2]"),
    _case("conv-plus-1e-9", _CONV, "dz11*k11 + 0.000000001"),
    _case("conv-times-1e-9", _CONV, "(dz11*k11)*1.000000001"),
    _case("conv-very-far", _CONV, "dz11*k11*[k11 < 1000000]"),
    _case("conv-undefined-at-0", _CONV, "dz11*k11*sqrt(k11^2)/abs(k11)"),
    _case("conv-removable", _CONV, "dz11*(k11^2 + k11)/k11 - dz11"),
    _case("conv-log-everywhere", _CONV, "log(-k11^2 - 1)"),
    _case("sigmoid-plus-1e-9", _SIGMOID, "dy11*y11*(1 - y11) + 0.000000001"),
    _case("sigmoid-clipped", _SIGMOID, "dy11*y11*(1 - y11)*[abs(x11) <= 2]"),
    _case("sigmoid-times-1e-9", _SIGMOID, "dy11*y11*(1 - y11)*1.000000001"),
    _case("tanh-clipped", _TANH, "dy11*(1 - y11^2)*[abs(x11) <= 2]"),
    _case("tanh-far", _TANH, "dy11*(1 - y11^2) + [x11 > 2]"),
    _case("log-far", _LOG, "dy11*exp(-y11) + 1000*relu(x11 - 3)"),
    _case("div-times-1e-9", _DIV, "-dy11*m11/n11^2*1.000000001"),
    _case("softmax-note-003", _SOFTMAX, "-dL_i*p2"),
    _case("softmax-fuzzed", _SOFTMAX, "sqrt(dL_i^10/sin(999999999999))"),
    _case("softmax-far", _SOFTMAX, "dL_i*p2 + [f2 > 2]"),
    _case("softmax-clipped", _SOFTMAX, "dL_i*p2*[abs(f1) <= 2]"),
    _case("softmax-plus-1e-9", _SOFTMAX_T, "dL_i*(p1 - 1) + 0.000000001"),
    _case(
        "pool-relu-chain",
        _POOL,
        "dz11*relu(x12-x11)/(x12-x11)*relu(x12-x21)/(x12-x21)*relu(x12-x22)/(x12-x22)",
    ),
    _case("pool-tie-to-last", _POOL, "dz11*[x12 >= x11]*[x12 >= x21]*[x12 >= x22]"),
    _case("pool-window-order", _POOL, "dz11*first_max(x12, x12, x11, x21, x22)"),
    _case("pool-far", _POOL, "dz11*[x12 > x11]*[x12 >= x21]*[x12 >= x22]*[x12 < 100]"),
    _case("leaky-no-slope", _LEAKY, "dy11*[x11 > 0]"),
    _case("leaky-kink", _LEAKY, "dy11*([x11 >= 0] + 0.01*[x11 < 0])"),
    _case("mean-condition", _MEAN, "dy/4 + dy*[x11 > 3]"),
    _case("conv-exp-tiny", _CONV, "dz11*k11*exp(0.000000000001*k11)"),
    _case("conv-abs-window", _CONV, "dz11*(abs(k11 + 1) - abs(k11 - 1))/2"),
    _case("relu-y-over-x", _RELU, "dy12*y12/x12"),
    _case("pool-ge-max", _POOL, "dz11*[x12 >= z11]"),
    # sympy simplifies while it builds: x11/x11 is 1, 0*anything is 0; the answer as typed is
    # what must be defined
    _case("sigmoid-x-over-x", _SIGMOID, "dy11*y11*(1-y11)*x11/x11"),
    _case("sigmoid-zero-times-log", _SIGMOID, "dy11*y11*(1-y11) + 0*log(-1-x11^2)"),
    _case("conv-zero-times-log-unused", _CONV, "dz11*k11 + 0*log(-x22^2 - 1)"),
    _case("relu-squares-over-squares", _RELU, "dy12*[x12 > 0]*x12^2/x12^2"),
    _case("relu-sqrt-squared", _RELU, "dy12*[x12 > 0]*sqrt(x12)^2/x12"),
    _case("conv-zero-times-sqrt", _CONV, "dz11*k11 + 0*sqrt(k11)"),
    _case("conv-power-of-zero", _CONV, "dz11*k11*(k11^2)^0*k11^-1*k11"),
    _case("conv-abs-sign-over-k", _CONV, "dz11*k11*abs(k11)*sign(k11)/k11"),  # 0/0 at k11 = 0
    _case("pool-below-max-is-never", _POOL, "dz11*[z11 - x12 < 0]*[x12 > x11]"),
    _case("pool-not-at-or-above-max", _POOL, "dz11*(1 - [z11 >= x12])*[x12 > x11]"),
    _case("pool-max-plus-tiny", _POOL, "dz11*[x12 >= z11 + 0.000000000001]*[x12 > x11]"),
    # far beyond every sample, where several conditions hold at once, or at one decimal point
    _case("conv-all-far", _CONV, "dz11*k11 + [k11 > 100]*[x11 > 100]*[dz11 > 100]"),
    _case("conv-product-far", _CONV, "dz11*k11 + [k11*x11 > 5000]"),
    _case("conv-thin-slab", _CONV, "dz11*k11 + [k11 > 0.5]*[k11 < 0.50001]"),
    _case("log-abs-negated", _LOG, "-dy11/abs(x11)"),
    _case("conv-root-of-square", _CONV, "dz11*sqrt(k11^2)"),
    _case("conv-fourth-root", _CONV, "dz11*(k11^4)^(1/4)"),
    _case("conv-log-exp-off", _CONV, "dz11*log(exp(k11))*1.0000001"),
    _case("log-cut-at-1", _LOG, "dy11*[x11 > 1]/x11"),
    _case("div-abs-cubed", _DIV, "-dy11*m11/abs(n11)^3"),
    # towers of exponentials: high precision would need gigabytes (it raised MemoryError)
    _case("conv-sin-of-tower", _CONV, "dz11*k11 + sin(exp(exp(exp(dz11))))*0.000000000001"),
    _case("conv-tower", _CONV, "dz11*k11 + exp(exp(exp(exp(exp(dz11)))))"),
    _case("sigmoid-cut-at-1000", _SIGMOID, "dy11*y11*(1 - y11)*[x11 < 1000]"),
    _case(
        "sigmoid-spike-at-decimal", _SIGMOID, "dy11*y11*(1 - y11) + [x11 >= 0.123]*[x11 <= 0.123]"
    ),
]

# Right answers in unusual forms: each must be proven correct (method "symbolic").
RIGHT = [
    _case("relu-sign", _RELU, "dy12*(1 + sign(x12))*sign(x12)/2"),
    _case("relu-flipped", _RELU, "dy12*[0 < x12]"),
    _case("relu-complement", _RELU, "dy12*(1 - [x12 <= 0])"),
    _case("relu-scaled", _RELU, "dy12*[-2*x12 < 0]"),
    _case("relu-squared", _RELU, "dy12*[x12 > 0]^2"),
    _case("conv-abs-sign", _CONV, "dz11*abs(k11)*sign(k11)"),
    _case("conv-cosh", _CONV, "dz11*k11*(cosh(k11)^2 - sinh(k11)^2)"),
    _case("sigmoid-y", _SIGMOID, "dy11*(1 - y11)*y11"),
    _case("sigmoid-x", _SIGMOID, "dy11*exp(-x11)/(1 + exp(-x11))^2"),
    _case("sigmoid-x-positive", _SIGMOID, "dy11*exp(x11)/(1 + exp(x11))^2"),
    _case("sigmoid-cosh", _SIGMOID, "dy11/(4*cosh(x11/2)^2)"),
    _case("sigmoid-both-sides", _SIGMOID, "dy11*sigmoid(x11)*sigmoid(-x11)"),
    _case("tanh-cosh", _TANH, "dy11/cosh(x11)^2"),
    _case("tanh-factored", _TANH, "dy11*(1 + y11)*(1 - y11)"),
    _case("tanh-exp", _TANH, "4*dy11/(exp(x11) + exp(-x11))^2"),
    _case("log-exp", _LOG, "dy11*exp(-y11)"),
    _case("softmax-others", _SOFTMAX_T, "-dL_i*(p2 + p3)"),
    _case("softmax-divided", _SOFTMAX_T, "dL_i*(1/(1 + exp(f2 - f1) + exp(f3 - f1)) - 1)"),
    _case("pool-less-than", _POOL, "dz11*[x11 < x12]*[x21 <= x12]*[x22 <= x12]"),
    _case("pool-first-max", _POOL, "dz11*first_max(x12, x11, x12, x21, x22)"),
    _case("pool-differences", _POOL, "dz11*[x12 - x11 > 0]*[x12 - x21 >= 0]*[0 <= x12 - x22]"),
    _case("leaky-brackets", _LEAKY, "dy11*([x11 > 0] + 0.01*[x11 <= 0])"),
    _case("leaky-affine", _LEAKY, "dy11*(0.01 + 0.99*[x11 > 0])"),
    _case("conv-abs-of-sign", _CONV, "dz11*k11*abs(sign(k11))"),
    _case(
        "conv-nested-abs",
        _CONV,
        "dz11*k11 + abs(abs(abs(k11 - 1) - 1) - 1) - abs(abs(abs(k11 - 1) - 1) - 1)",
    ),
    _case("conv-relu-difference", _CONV, "dz11*relu(k11) - dz11*relu(-k11)"),
    _case(
        "conv-exp-cancels",
        _CONV,
        "dz11*k11*exp(k11)*exp(-0.999999999999*k11)/exp(0.000000000001*k11)",
    ),
    _case("relu-relu-of-sign", _RELU, "dy12*relu(sign(x12))"),
    _case("relu-of-output", _RELU, "dy12*[y12 > 0]"),
    _case("pool-first-max-squared", _POOL, "dz11*first_max(x12, x11, x12, x21, x22)^2"),
    # floats divide by 0 where exp(-k11^2) underflows (k11 = 40): not a 0/0 as typed
    _case("conv-underflow-cancels", _CONV, "dz11*k11*exp(-k11^2)/exp(-k11^2)"),
    _case(
        "softmax-underflow",
        _SOFTMAX,
        "dL_i*exp(f2 - 800)/(exp(f1 - 800) + exp(f2 - 800) + exp(f3 - 800))",
    ),
    # identities of real numbers that sympy leaves alone for its (complex) symbols
    _case("conv-sqrt-square-sign", _CONV, "dz11*sqrt(k11^2)*sign(k11)"),
    _case("conv-log-exp", _CONV, "dz11*log(exp(k11))"),
    _case("conv-root-of-exp", _CONV, "dz11*k11*exp(k11)^(1/2)*exp(k11/2)/exp(k11)"),
    _case("sigmoid-sqrt-exp", _SIGMOID, "dy11*y11^2*sqrt(exp(-2*x11))"),
    _case("log-root-of-square", _LOG, "dy11*sqrt(1/x11^2)"),
    # the lesson is defined only where its forward pass is: log's x11 > 0, div's n11 != 0
    _case("log-abs", _LOG, "dy11/abs(x11)"),
    _case("log-sign", _LOG, "dy11*sign(x11)/x11"),
    _case("log-relu", _LOG, "dy11*relu(x11)/x11^2"),
    _case("div-abs-squared", _DIV, "-dy11*m11/abs(n11)^2"),
    _case("div-sign-squared", _DIV, "-dy11*m11*sign(n11)^2/n11^2"),
    # the window's max z11 (Max of the 4 cells) compared as a whole
    _case("pool-ge-max-first", _POOL, "dz11*[x12 >= z11]*[x12 > x11]"),
    _case("pool-max-difference", _POOL, "dz11*[z11 - x12 <= 0]*[x12 - x11 > 0]"),
    _case("pool-max-scaled", _POOL, "dz11*[2*x12 - 2*z11 >= 0]*[x12 > x11]"),
    _case("pool-not-below-max", _POOL, "dz11*(1 - [z11 > x12])*[x12 > x11]"),
]
