"""`rnnviz app --share`: the address the room reaches, the secret of this server start, the two links, and
the plain warning for a server opened to the network without them (docs/security.md)."""

from __future__ import annotations

import ipaddress
import secrets
import socket
from typing import TYPE_CHECKING

from . import roles
from .config import ConfigError
from .store import Store, StoreError

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

PRESENTER_PATH = "/rnnviz-presenter"
DEFAULT_PORT = 8501  # Streamlit's
BLOG_PAIR = ("blog-rnn", "blog-lstm")  # the names the Train page's pair and `rnnviz demo` give it


def network_address() -> str:
    """The IPv4 address other machines on the network reach this one at: the one its default route leaves
    from (a UDP socket is pointed at a documentation address; no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
        except OSError:
            address = ""
    if not address or ipaddress.ip_address(address).is_loopback or address == "0.0.0.0":
        raise ConfigError(
            "share",
            "this machine has no network address to share on (is it on the room's network?); give one, e.g. "
            "`--share 192.168.1.20`",
        )
    return address


def check_address(address: str) -> str:
    """An address given to --share: an IP address of this machine (or localhost), not a wildcard."""
    if address == "localhost":
        return address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ConfigError(
            "share", f"{address!r} is not an IP address; give this machine's, e.g. 192.168.1.20"
        ) from None
    if ip.is_unspecified:
        raise ConfigError(
            "share", f"{address} listens on every network of this machine; give the one the room is on, or none"
        )
    return address


def new_key() -> str:
    """The presenter's secret for one server start: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def base_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def links(address: str, port: int, key: str) -> tuple[str, str]:
    """(viewer link, presenter link)."""
    url = base_url(address, port)
    return url + "/", f"{url}{PRESENTER_PATH}?key={key}"


def streamlit_option(args: list[str], name: str) -> str | None:
    """The value of `--NAME VALUE` or `--NAME=VALUE` among the arguments passed on to Streamlit (the last
    one wins, as in Streamlit)."""
    value = None
    for k, arg in enumerate(args):
        if arg == f"--{name}" and k + 1 < len(args):
            value = args[k + 1]
        elif arg.startswith(f"--{name}="):
            value = arg.split("=", 1)[1]
    return value


def exposed(address: str | None) -> bool:
    """Whether a server listening on `address` is reachable from other machines."""
    if address is None or address == "localhost":
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True  # a host name: whatever it resolves to


def exposure_warning(address: str) -> str:
    """What a server opened to the network without --share exposes, in plain words."""
    return (
        f"rnnviz: warning: the dashboard listens on {address}, open to every machine that can reach this one, "
        "with no presenter link: anyone who opens it can start, stop and delete training runs on this machine, "
        "download data into it and start sweeps, over plain HTTP. For a room, use `rnnviz app --share`: "
        "viewers only watch, and only the presenter link acts (docs/security.md)."
    )


def presenter_link(request: Request) -> Response:
    """The presenter link's route: its secret becomes an HttpOnly cookie (no script in a page can read it, so
    none can leak it), and the browser goes on to the dashboard, whose address bar on a projector shows no
    secret. A wrong or old key (the server restarted) gets a page that points to the viewer link."""
    from starlette.responses import HTMLResponse, RedirectResponse

    if not roles.is_key(request.query_params.get("key")):
        return HTMLResponse(
            "<p>This presenter link is not the one of this server start (it makes a new one each time it starts). "
            'The dashboard is open to watch at <a href="/">the viewer link</a>.</p>',
            status_code=403,
            headers={"Cache-Control": "no-store"},
        )
    response = RedirectResponse(
        "/", status_code=303, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
    response.set_cookie(roles.COOKIE, roles.KEY, httponly=True, samesite="strict", path="/")
    return response


def presenter_route() -> Route:
    from starlette.routing import Route

    return Route(PRESENTER_PATH, presenter_link, methods=["GET"])


def blog_pair(runs: pd.DataFrame) -> list[int] | None:
    """From a runs table (newest first), the newest blog-rnn and blog-lstm runs, if it holds both: what a
    shared dashboard opens on, as a talk expects, rather than whatever ran last."""
    newest = runs.drop_duplicates("name")
    ids = dict(zip(newest["name"], newest["run_id"]))
    return [int(ids[name]) for name in BLOG_PAIR] if all(name in ids for name in BLOG_PAIR) else None


def opening(store_path: Path) -> str:
    """The start-up line saying which runs a shared dashboard opens on (a store not made yet is not made)."""
    try:
        if store_path.exists():
            with Store(store_path) as store:
                pair = blog_pair(store.runs())
        else:
            pair = None
    except StoreError as exc:
        return f"  The store {store_path} cannot be read ({exc}): the dashboard says what to do."
    if pair is None:
        return (
            f"  {store_path} holds no blog pair ({' and '.join(BLOG_PAIR)}), so the room opens on the newest runs: "
            "record the pair before the talk with `rnnviz demo`, or train it on the Train page."
        )
    return f"  Every page opens on the blog pair: runs {pair[0]} ({BLOG_PAIR[0]}) and {pair[1]} ({BLOG_PAIR[1]})."
