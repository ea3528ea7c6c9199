"""One Streamlit session driven over the websocket protocol, as the browser frontend drives it,
for ``bench.load``: no browser, so thirty sessions cost the load machine little.

The frontend's side of the protocol (``streamlit/proto``): it connects to ``/_stcore/stream``
with the subprotocol ``streamlit``, and every interaction is one ``BackMsg.rerun_script``
(``ClientState``: the page, the URL's query string, the widgets' states, and the hashes of the
cached messages it holds). The server answers with ``ForwardMsg``s: ``new_session`` when a run
starts (``metadata.run`` names it, with its fragments: none for a whole-page run), ``delta``s
that place elements at a path in the page tree, ``page_info_changed`` with the new query
string, ``auto_rerun`` for a fragment that reruns itself on a timer (the frontend sends those
reruns; so does :class:`Session`), and ``script_finished`` when the run ends.

Widgets are found on the page by kind and label, the way a user finds them; their ids (which
hash the page, the key and the parameters) are read from the deltas, never written here.
A run's latency is from the moment its BackMsg is sent to its ``script_finished``; a run that a
``st.rerun`` cut short (FINISHED_EARLY_FOR_RERUN) continues in the next one, which is waited
for too.

Where it differs from a browser: it fetches no JavaScript (a real first visit also downloads
~5 MB of static files, so a browser's first render is slower than measured here); the lesson
column's width probe never reports (the page stays laid out for a 1280 px window, as on a
browser's first run before the probe answers); it sends no pings, as browsers send none; and a
closed socket ends the tab, where the frontend would reconnect."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
RUN_TIMEOUT = 180.0  # s: a run not finished by then is counted as an error, not waited for
TEXT_FIELDS = {  # where each element kind keeps what a user reads
    "markdown": "body",
    "heading": "body",
    "text": "body",
    "alert": "body",
    "exception": "message",
    "progress": "text",
    "button": "label",
}


class RunTimeout(Exception):
    """The server did not finish a run (or show what was awaited) within its deadline."""


@dataclass
class Element:
    kind: str  # the Element oneof: "button", "text_input", "alert", …
    proto: object  # that element's message
    run: str  # the script run that last wrote it
    fragment: str  # the fragment it belongs to ("" for the page itself)

    @property
    def text(self) -> str:
        name = TEXT_FIELDS.get(self.kind)
        return str(getattr(self.proto, name)) if name else ""

    @property
    def key(self) -> str:
        """A widget's user key, from its id ``$$ID-<hash>-<key>`` ("" for other elements)."""
        wid = getattr(self.proto, "id", "")
        return wid.split("-", 2)[2] if wid.startswith("$$ID-") and wid.count("-") >= 2 else ""


@dataclass
class Run:
    """One interaction: how long the server took, and what it showed that went wrong."""

    seconds: float
    exceptions: list[str] = field(default_factory=list)  # exception boxes the run drew


class Page:
    """The page as the frontend holds it: every element by its delta path."""

    def __init__(self) -> None:
        self.elements: dict[tuple, Element] = {}

    def place(self, path: tuple, kind: str, proto, run: str, fragment: str) -> None:
        self.elements[path] = Element(kind, proto, run, fragment)

    def drop_stale(self, run: str, fragments: list[str]) -> None:
        """What a run did not redraw is gone (the frontend's clearStaleNodes): after a whole-page
        run every element it did not write, after a fragment run the fragment's."""
        for path, e in list(self.elements.items()):
            if e.run != run and (not fragments or e.fragment in fragments):
                del self.elements[path]

    def find(self, kind: str, label: str = "", key_part: str = "") -> tuple[tuple, Element]:
        """The (path, element) of the first ``kind`` whose label is ``label`` (or contains it),
        and whose key contains ``key_part``; LookupError naming what was there otherwise."""
        hits = [
            (p, e) for p, e in sorted(self.elements.items()) if e.kind == kind and key_part in e.key
        ]
        for test in (lambda e: e.proto.label == label, lambda e: label in e.proto.label):
            for p, e in hits:
                if test(e):
                    return p, e
        there = sorted({getattr(e.proto, "label", "") for _, e in hits})
        raise LookupError(f"no {kind} labelled {label!r} on the page; there are {there}")

    def texts(self, kind: str, under: tuple = ()) -> list[str]:
        return [
            e.text
            for p, e in sorted(self.elements.items())
            if e.kind == kind and p[: len(under)] == under
        ]

    def alerts(self, under: tuple = ()) -> list[tuple[str, str]]:
        """(format, text) of every st.error / warning / info / success under ``under``, in
        page order: format is "ERROR", "WARNING", "INFO" or "SUCCESS"."""
        return [
            (Alert.Format.Name(e.proto.format), e.proto.body)
            for p, e in sorted(self.elements.items())
            if e.kind == "alert" and p[: len(under)] == under
        ]

    def exceptions(self) -> list[str]:
        return self.texts("exception")


def _http_get(url: str, timeout: float) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        r.read()


class Session:
    """A browser tab: ``await open(path, query)``, then ``click(label)`` / ``type(label, text)``;
    each returns a :class:`Run` once the server's script run has finished."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.page = Page()
        self.query = ""  # the URL's query string, as the server last set it
        self.page_hash = ""
        self.values: dict[str, WidgetState] = {}  # widget values this tab has set
        self.errors: list[str] = []  # socket and protocol errors, seen by the reader
        self.finished: list[tuple[str, int]] = []  # (run id, status) of every run that ended
        self._ws = None
        self._url = self.base
        self._reader: asyncio.Task | None = None
        self._timers: dict[str, asyncio.Task] = {}
        self._intervals: dict[str, float] = {}
        self._cache: dict[str, ForwardMsg] = {}  # cacheable messages by hash, as the frontend
        self._run, self._fragments = "", []  # the run now drawing
        self._finished: asyncio.Queue = asyncio.Queue()  # (run id, fragments, status)
        self._started: asyncio.Queue = asyncio.Queue()  # (run id, fragments)
        self._changed = asyncio.Event()  # set whenever a run finishes

    # ---------------------------------------------------------------- what a user does

    async def open(self, path: str, query: str = "", timeout: float = RUN_TIMEOUT) -> Run:
        """Open ``/path?query`` in a fresh tab: the page's HTML and the two endpoints the
        frontend asks first, the websocket, and the first run."""
        t0 = time.perf_counter()
        for url in (
            f"{self.base}/{path}",
            f"{self.base}/_stcore/health",
            f"{self.base}/_stcore/host-config",
        ):
            await asyncio.to_thread(_http_get, url, timeout)
        ws_url = "ws" + self.base[4:] + "/_stcore/stream"
        self._ws = await websockets.connect(
            ws_url,
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=timeout,
            ping_interval=None,  # a browser never pings: a server busy for 20 s is no hang-up
        )
        self._url = f"{self.base}/{path}" + (f"?{query}" if query else "")
        self._reader = asyncio.create_task(self._read())
        run = await self._rerun([], page_name=path, query=query, timeout=timeout)
        run.seconds = time.perf_counter() - t0
        return run

    async def click(self, label: str, kind: str = "button", key_part: str = "") -> Run:
        _, e = self.page.find(kind, label, key_part)
        if getattr(e.proto, "disabled", False):
            raise LookupError(f"the {kind} {label!r} is disabled")
        return await self._rerun([WidgetState(id=e.proto.id, trigger_value=True)], e.fragment)

    async def type(self, label: str, text: str, key_part: str = "") -> Run:
        """Type ``text`` into a text box and press Enter."""
        _, e = self.page.find("text_input", label, key_part)
        self.values[e.proto.id] = WidgetState(id=e.proto.id, string_value=text)
        return await self._rerun([], e.fragment)

    @property
    def alive(self) -> bool:
        """Whether the tab is still connected (a closed socket ends what it was doing)."""
        return self._reader is not None and not self._reader.done()

    async def wait_until(self, ready, timeout: float = RUN_TIMEOUT) -> None:
        """Wait until ``ready(page)`` holds after some run (a page that draws its result in a
        later run, such as a fragment polling for work done elsewhere, shows it then)."""
        try:
            async with asyncio.timeout(timeout):
                while not ready(self.page):
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise RunTimeout(f"not shown within {timeout:.0f} s") from None

    async def close(self) -> None:
        for t in self._timers.values():
            t.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    # ---------------------------------------------------------------- the protocol

    def _back_msg(self, triggers, fragment="", page_name="", query=None, auto=False) -> bytes:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query if query is None else query
        if page_name:
            state.page_name = page_name
        else:
            state.page_script_hash = self.page_hash
        state.fragment_id = fragment
        state.is_auto_rerun = auto
        ws = state.widget_states
        ws.SetInParent()
        triggered = {t.id for t in triggers}
        ws.widgets.extend([v for k, v in self.values.items() if k not in triggered] + triggers)
        state.cached_message_hashes.extend(self._cache)
        ctx = state.context_info  # what a browser in UTC, in English, on a light theme says
        ctx.timezone, ctx.timezone_offset, ctx.locale = "UTC", 0, "en-US"
        ctx.url, ctx.is_embedded, ctx.color_scheme = self._url, False, "light"
        return msg.SerializeToString()

    async def _rerun(
        self, triggers, fragment: str = "", page_name="", query=None, timeout=RUN_TIMEOUT
    ) -> Run:
        """Send one rerun and wait for its run (and the runs a st.rerun chained to it)."""
        while not self._finished.empty():  # what came before this interaction is not its answer
            self._finished.get_nowait()
        while not self._started.empty():
            self._started.get_nowait()
        t0 = time.perf_counter()
        await self._ws.send(self._back_msg(triggers, fragment, page_name, query))
        try:
            async with asyncio.timeout(timeout):
                await self._until_finished(fragment)
        except TimeoutError:
            raise RunTimeout(f"no script_finished within {timeout:.0f} s") from None
        return Run(time.perf_counter() - t0, self.page.exceptions())

    async def _until_finished(self, fragment: str) -> None:
        mine = None
        while True:
            if mine is None:  # the first run of the kind asked for that starts after the send
                run, fragments = await self._started.get()
                if (fragment in fragments) if fragment else not fragments:
                    mine = run
                continue
            run, _, status = await self._finished.get()
            if run != mine:
                continue
            if status != EARLY:
                return
            mine = None  # a st.rerun: the page's next run finishes this interaction

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
        except websockets.ConnectionClosed as exc:
            if exc.rcvd is None or exc.rcvd.code != 1000:
                self.errors.append(f"socket closed: {exc}")
        except Exception as exc:  # noqa: BLE001 - counted, and the session's waits time out
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = ForwardMsg()
            cached.CopyFrom(self._cache[msg.ref_hash])
            cached.metadata.CopyFrom(msg.metadata)
            msg, kind = cached, cached.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = msg
        if kind == "new_session":
            self._run, self._fragments = (
                msg.metadata.run.script_run_id,
                list(msg.metadata.run.fragment_ids),
            )
            self._started.put_nowait((self._run, self._fragments))
        elif kind == "delta":
            self._delta(msg)
        elif kind == "navigation":  # the page that ran: reruns ask for it by its hash
            self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._stop_timer(fid)
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name}")
        elif kind == "script_finished":
            run = msg.metadata.run.script_run_id or self._run
            if msg.script_finished != EARLY and not self._fragments:
                self.page.drop_stale(run, [])
            self.finished.append((run, msg.script_finished))
            self._finished.put_nowait((run, self._fragments, msg.script_finished))
            self._changed.set()

    def _delta(self, msg: ForwardMsg) -> None:
        delta, path = msg.delta, tuple(msg.metadata.delta_path)
        which = delta.WhichOneof("type")
        if which == "new_element":
            kind = delta.new_element.WhichOneof("type")
            proto = getattr(delta.new_element, kind)
            self.page.place(path, kind, proto, self._run, delta.fragment_id)
        elif which == "add_block":
            self.page.place(path, "block", delta.add_block, self._run, delta.fragment_id)

    # ---------------------------------------------------------------- fragments on a timer

    def _start_timer(self, fragment: str, interval: float) -> None:
        if fragment in self._timers and self._intervals.get(fragment) == interval:
            return  # as the frontend: the same timer again is no new timer
        self._stop_timer(fragment)
        self._intervals[fragment] = interval
        self._timers[fragment] = asyncio.create_task(self._tick(fragment, interval))

    def _stop_timer(self, fragment: str) -> None:
        task = self._timers.pop(fragment, None)
        if task is not None:
            task.cancel()

    async def _tick(self, fragment: str, interval: float) -> None:
        """What the frontend does for ``st.fragment(run_every=…)``: a rerun of the fragment
        every ``interval`` seconds until the server says stop."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self._ws.send(self._back_msg([], fragment, auto=True))
            except websockets.ConnectionClosed:
                return
