"""Who may get a console token: pure checks on the peer address, Host and Origin.

A route that mints tokens without a key would let anyone past the server's API keys, so
console tokens go only to requests that

* come from a loopback peer (127.0.0.0/8, ::1, or IPv4-mapped 127.x), taken from the
  socket itself — never from ``X-Forwarded-For`` or any other header;
* name a loopback host in ``Host`` (``localhost``, ``*.localhost``, a loopback address):
  a page on another domain that DNS-rebinds its name to 127.0.0.1 is refused;
* carry no ``Origin``, or the page's own origin: another site open in the same browser
  cannot fetch one.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

TOKEN_USES = 1
TOKEN_EXPIRE = 10 * 60.0  # resumption with the token works this long
TOKEN_NEW_SESSION = 60.0  # the session must start within this


def is_loopback_peer(peer: object) -> bool:
    """True for a socket peername (``(host, port, …)``) on a loopback address."""
    if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
        return False  # Unix sockets and unknown transports: not loopback
    host = peer[0].split("%", 1)[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _hostname(host: str) -> str:
    return (urlsplit("//" + host).hostname or "").lower()


def is_loopback_host(host: str | None) -> bool:
    """True for a ``Host`` header naming this machine by a loopback name or address."""
    name = _hostname(host or "")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def same_origin(origin: str | None, scheme: str, host: str | None) -> bool:
    """True when ``Origin`` is absent (not a cross-site browser request) or is the server's."""
    if origin is None:
        return True
    return origin.rstrip("/").lower() == f"{scheme}://{host or ''}".lower()


def refusal(peer: object, host: str | None, origin: str | None, scheme: str) -> str | None:
    """Why a console token is refused (None: it may be given)."""
    if not is_loopback_peer(peer):
        return ("console tokens are only given to clients on this machine (loopback); "
                "enter an API key or an ephemeral token")
    if not is_loopback_host(host):
        return "console tokens are only given to pages opened as localhost or 127.0.0.1"
    if not same_origin(origin, scheme, host):
        return "console tokens are only given to the console's own page (Origin mismatch)"
    return None
