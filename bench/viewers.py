"""Simulated viewers of a shared dashboard, for bench/bench_room.py: each opens a Streamlit session over its
own WebSocket (the viewer link: no presenter cookie), asks for a page with the runs picked, reruns each
fragment the server asks to rerun at its interval (the page body every 5 s while its charts feed
themselves, as a browser tab does), and polls each live chart's feed, and each livetext's (the status lines
that fetch themselves), once a second with the version it shows, as their frames do (livechart/PROTOCOL.md)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

POLL_S = 1.0


@dataclass
class Viewer:
    """One simulated viewer on `page` of the server at `url`, polling until `stop` is set."""

    url: str
    page: str
    query: str
    stop: threading.Event
    feeds: dict[str, str] = field(default_factory=dict)  # feed path -> version shown
    fragments: dict[str, list[float]] = field(default_factory=dict)  # fragment id -> [interval, next rerun]
    polls: int = 0
    figures: int = 0
    errors: list[str] = field(default_factory=list)

    def _rerun(self, ws, fragment: str = "") -> None:
        state = ClientState(
            query_string=self.query, page_name=self.page, fragment_id=fragment, is_auto_rerun=bool(fragment)
        )
        ws.send(BackMsg(rerun_script=state).SerializeToString())

    def _read(self, ws, seconds: float) -> None:
        """Take the server's messages for a while; note the feeds of the live charts drawn."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = ws.recv(timeout=left)
            except TimeoutError:
                return
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "auto_rerun":
                interval = msg.auto_rerun.interval
                self.fragments[msg.auto_rerun.fragment_id] = [interval, time.monotonic() + interval]
            elif kind == "stop_auto_rerun":
                for fragment in msg.stop_auto_rerun.fragment_ids:
                    self.fragments.pop(fragment, None)
            if kind != "delta":
                continue
            element = msg.delta.new_element
            if element.WhichOneof("type") == "component_instance":
                feed = json.loads(element.component_instance.json_args or "{}").get("feed")
                if feed and feed not in self.feeds:
                    self.feeds[feed] = ""

    def _poll(self) -> None:
        for feed, shown in list(self.feeds.items()):
            try:
                with urllib.request.urlopen(f"{self.url}{feed}?v={shown}", timeout=10) as r:
                    self.polls += 1
                    if r.status == 200:
                        r.read()
                        self.figures += 1
                        self.feeds[feed] = r.headers.get("X-Version", "")
            except urllib.error.HTTPError as exc:
                if exc.code != 404:  # a feed dropped: the next page rerun registers it again
                    self.errors.append(f"feed {exc.code}")
            except OSError as exc:
                self.errors.append(str(exc))

    def run(self) -> None:
        ws_url = self.url.replace("http", "ws", 1) + "/_stcore/stream"
        try:
            with connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60) as ws:
                self._rerun(ws)
                while not self.stop.is_set():
                    for fragment, due in list(self.fragments.items()):
                        if time.monotonic() >= due[1]:
                            self._rerun(ws, fragment)
                            due[1] = time.monotonic() + due[0]
                    self._read(ws, POLL_S)
                    self._poll()
        except Exception as exc:  # a viewer that fails says why in the figures, and the others go on
            self.errors.append(f"{type(exc).__name__}: {exc}")


def start(url: str, n: int, page: str, query: str) -> tuple[list[Viewer], threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    viewers = [Viewer(url, page, query, stop) for _ in range(n)]
    threads = [threading.Thread(target=v.run, daemon=True) for v in viewers]
    for t in threads:
        t.start()
        time.sleep(0.2)  # a room arrives over seconds, not in the same millisecond
    return viewers, stop, threads


def leave(stop: threading.Event, threads: list[threading.Thread]) -> None:
    stop.set()
    for t in threads:
        t.join(timeout=15)
