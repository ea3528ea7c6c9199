"""What describes a page of the app and an op of the registry (``ui.registry`` holds the
entries). No streamlit here."""

from __future__ import annotations

from dataclasses import dataclass

from derivations import derive


@dataclass(frozen=True)
class Param:
    name: str  # the derive() keyword
    label: str
    # "pair" (rows, cols), "optional_pair" (None allowed), "int", "float", "choice",
    # "sizes" (a list of whole numbers, such as an MLP's layer sizes), "bool" (a switch: a
    # checkbox, a bare --flag on the command line, 1 or 0 in the URL), or "text" (a formula
    # the learner types, ``lo`` to ``hi`` characters, never evaluated: derive() parses it;
    # ``choices`` holds examples)
    kind: str
    default: object
    lo: float = 0
    hi: float = 16
    choices: tuple = ()
    help: str = ""
    flag: str = ""  # the CLI's --flag (default: the name, dashed)
    shown_from: int = 0  # a widget shows value + shown_from (a 0-based class shown 1-based)
    count: tuple[int, int] = (1, 1)  # "sizes": how many numbers the list holds
    # the values of the parameters before it -> its largest value, where they bound it (a true
    # class by the number of classes), or None where they do not say (unreadable sizes)
    bound: object = None

    @property
    def cli_flag(self) -> str:
        return (self.flag or self.name).replace("_", "-")


@dataclass(frozen=True)
class PageSpec:
    path: str  # the script
    title: str  # in the navigation
    icon: str
    group: str
    url: str = ""  # "" for the default page
    blurb: str = ""  # the home page's card
    heading: str = ""  # the page's own title, when it differs from ``title``


@dataclass(frozen=True)
class OpSpec:
    name: str  # derive() / engine name
    title: str
    page: PageSpec  # the lesson that teaches it
    params: tuple[Param, ...]
    engine_forward: object  # (values, params) -> output matrix
    engine_grads: object  # (values, upstream, params) -> {input name: gradient}
    torch: object  # (leaf tensors, params) -> output tensor, for the PyTorch reference, or None
    kink: object = None  # (values, derivation) -> why finite differences are undefined, or ""
    positive: tuple[str, ...] = ()  # inputs that must stay > 0
    domain: str = ""  # why, in words (log's x > 0)
    # the notes' numeric example (input values and "upstream"), for the default sizes
    notes_example: dict | None = None
    values: str = "integers"  # where a first visit's numbers come from, without an example
    # (values, derivation) -> why the op cannot be computed at these values, or "" (your own
    # f: log of a negative); the page then shows values where it can
    undefined: object = None
    # the output is the loss itself (a whole network): its upstream is the seed ∂L/∂L = 1,
    # not a number to choose (a random −2 read as "∂L/∂L = −2")
    upstream_is_seed: bool = False

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def derive(self, **params):
        return derive(self.name, **params)
