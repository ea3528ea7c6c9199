"""How much of KaTeX's expansion budget a formula spends, estimated in Python.

KaTeX refuses a formula once it has expanded more than ``maxExpand`` macros (1000, the default
st.latex keeps) and shows a red "Too many expansions" block instead. Only KaTeX's *macros*
count: ``\\frac``, ``\\dfrac``, ``\\cancel``, ``\\underbrace``, ``\\text``, ``\\left``, the
environments and the symbols are functions and cost nothing, while ``\\quad`` costs 1 and
``\\,`` costs 3 (it expands to ``\\tmspace…``, which expands again). A 16×16 convolution's list
of ∂L/∂K sums held 1,300 ``\\quad``s.

The costs below were measured in Chromium on the KaTeX that Streamlit 1.67 bundles (0.16.47):
each command rendered alone with ``maxExpand`` bisected to the least that renders
(``tests/katex_probe.py`` does it). Commands the lessons use have their exact cost; any other
macro of KaTeX's ``macros.js`` is charged the most any of them costs, so the estimate never
falls short.
"""

from __future__ import annotations

import re

MAX_EXPAND = 1000  # KaTeX's default maxExpand, which st.latex keeps
BUDGET = 900  # what a lesson formula may spend: a margin under MAX_EXPAND

# exact costs of the macros the lessons (or likely edits of them) use
COST = {
    "quad": 1,
    "qquad": 1,
    "cdots": 1,
    "vdots": 1,
    "dots": 6,  # 2 to 6 by what follows it (\dotsb, \dotsi …): the most
    ",": 3,
    ":": 3,
    ";": 3,
    "!": 3,
    ">": 1,
    "operatorname": 3,
    "boxed": 1,
    "ne": 5,
    "neq": 4,
    "notin": 2,
    "not": 2,
    "iff": 8,
    "implies": 8,
    "argmax": 9,
    "mod": 7,
    "pmod": 2,
    "bmod": 1,
    "enspace": 1,
    "thinspace": 4,
    "medspace": 4,
    "thickspace": 4,
    "hspace": 4,
}
WORST = 25  # the most a single KaTeX macro costs (\Set); charged for any not listed above
# every other macro KaTeX 0.16 defines (macros.js), whatever it costs
OTHER_MACROS = frozenset(
    """
    @firstoftwo @hspace @hspacer @ifnextchar @ifstar @secondoftwo AA Alpha Bbbk Beta Bra Braket
    Chi Colonapprox Coloneq Coloneqq Colonsim Complex DOTSB DOTSI DOTSX Dagger Darr Epsilon
    Eqcolon Eqqcolon Eta Harr Iota KaTeX Kappa Ket LaTeX Larr Lrarr Mu N Nu Omicron R Rarr
    Reals Rho Set Tau TeX TextOrMath Uarr Z Zeta aa alef alefsym angln approxcolon
    approxcoloncolon argmin bgroup blue blueA blueB blueC blueD blueE bra bra@ket bra@set braket
    bull char clap clubs cnums colon colonapprox coloncolon coloncolonapprox coloncolonequals
    coloncolonminus coloncolonsim coloneq coloneqq colonequals colonminus colonsim copyright
    dArr darr dblcolon ddddot dddot diamonds dotsb dotsc dotsi dotsm dotso dotsx egroup empty
    enskip eqcolon eqqcolon equalscolon equalscoloncolon errmessage exist expandafter goldA
    goldB goldC goldD goldE gray grayA grayB grayC grayD grayE grayF grayG grayH grayI green
    greenA greenB greenC greenD greenE gvertneqq hArr harr hearts hphantom image imath impliedby
    infin injlim isin jmath kaBlue kaGreen ket lArr lBrace lang larr liminf limsup llap
    llbracket llcorner lq lrArr lrarr lrcorner lvertneqq maroonA maroonB maroonC maroonD maroonE
    mathstrut message mintA mintB mintC minuscolon minuscoloncolon minuso natnums negmedspace
    negthickspace negthinspace newcommand newline ngeqq ngeqslant nleqq nleqslant noexpand
    nonumber notag notni nshortmid nshortparallel nsubseteqq nsupseteqq orange ordinarycolon pink
    plim plusmn pod projlim providecommand purple purpleA purpleB purpleC purpleD purpleE rArr
    rBrace rang rarr ratio real reals red redA redB redC redD redE renewcommand rlap rq
    rrbracket sdot sect set show simcolon simcoloncolon spades sub sube substack supe tag
    tag@literal tag@paren tealA tealB tealC tealD tealE textcopyright textregistered thetasym
    tmspace uArr uarr ulcorner underbar urcorner varDelta varGamma varLambda varOmega varPhi
    varPi varPsi varSigma varTheta varUpsilon varXi varinjlim varliminf varlimsup varprojlim
    varsubsetneq varsubsetneqq varsupsetneq varsupsetneqq vcentcolon weierp
    """.split()
)
# characters KaTeX defines as macros (~ is a non-breaking space, ≠ is \neq …)
CHAR_MACROS = frozenset("~©®‼ℋℌℐℒℛℨℬℭℰℱℳ∉∌∷∹≔≕≘≙≚≛≝≞≟≠⋮⌜⌝⌞⌟⟂⟦⟧⦃⦄⦵⩴")

_TOKEN = re.compile(r"\\([a-zA-Z@]+|.)|([" + re.escape("".join(sorted(CHAR_MACROS))) + "])", re.S)


def expansions(tex: str) -> int:
    """An upper bound, exact for the commands in COST, of the macro expansions KaTeX makes to
    render ``tex``."""
    total = 0
    for m in _TOKEN.finditer(tex):
        name, char = m.groups()
        if name is not None:
            total += COST.get(name, WORST if name in OTHER_MACROS else 0)
        elif char in CHAR_MACROS:
            total += WORST
    return total


def fits(tex: str, budget: int = BUDGET) -> bool:
    """Whether KaTeX renders ``tex`` within ``budget`` expansions."""
    return expansions(tex) <= budget
