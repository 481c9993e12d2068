"""Which address a request comes from, behind trusted reverse proxies (``--trusted-proxy``).

No I/O: the TCP peer's address and the request's ``X-Forwarded-For`` values go in, the
client's address comes out. The rule is nginx's ``real_ip_recursive on``:

* a peer outside every trusted network is the client; its ``X-Forwarded-For`` is ignored
  (a client cannot choose the address that the logs and per-address caps see);
* from a trusted peer, ``X-Forwarded-For`` (every such header, in order, as one list) is
  walked from the right: each proxy appends the address it was connected from, so the
  right-most address that is not itself trusted is the client. When all are trusted, the
  left-most is. A trusted peer that sends no ``X-Forwarded-For``, or one with an entry that
  is not an address, stays the client itself (with ``forwarded`` false).

``Forwarded`` (RFC 7239) is not read: the server cannot know which of the two headers its
proxy writes, and reading the other would let a client write it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_HOPS = 64  # entries of X-Forwarded-For walked at most (the left-most are not reached)


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``--trusted-proxy`` values (``10.0.0.0/8``, ``127.0.0.1``, ``::1/128``) as networks;
    ValueError naming the first that is not one (host bits set included: likely a typo)."""
    networks = []
    for value in values:
        text = value.strip()
        try:
            networks.append(ipaddress.ip_network(text))
        except ValueError as exc:
            raise ValueError(str(exc)) from None  # names the value: "… has host bits set"
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """One address as a socket or an ``X-Forwarded-For`` entry writes it: ``1.2.3.4``,
    ``1.2.3.4:5678``, ``2001:db8::1``, ``[2001:db8::1]:443``, ``fe80::1%eth0``; an
    IPv4-mapped IPv6 address becomes its IPv4 one. None when it is none of these."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address.version == n.version and address in n
                                       for n in networks)


def forwarded_for(values: Iterable[str]) -> list[str]:
    """The entries of one or more ``X-Forwarded-For`` headers, left to right."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class ClientAddress:
    """``address``: the client as logs and per-address caps see it; ``peer``: the TCP peer;
    ``proxied``: the peer is a trusted proxy; ``forwarded``: ``address`` was read from the
    proxy's ``X-Forwarded-For``."""

    address: str
    peer: str
    proxied: bool = False
    forwarded: bool = False

    @property
    def is_loopback(self) -> bool:
        """A client on this machine: a loopback peer that is no trusted proxy, or a loopback
        address forwarded by one. A trusted proxy's own request, with no forwarded address,
        is never loopback (a proxy on this machine makes every client look local)."""
        if self.proxied and not self.forwarded:
            return False
        address = parse_address(self.address)
        return address is not None and address.is_loopback


def resolve(peer: str | None, forwarded: Iterable[str],
            networks: tuple[Network, ...]) -> ClientAddress:
    """The client of a request from TCP peer ``peer`` (None: unknown, e.g. a Unix socket)
    with these ``X-Forwarded-For`` header values, trusting proxies in ``networks``."""
    peer_text = peer or "?"
    peer_address = parse_address(peer_text) if peer else None
    shown = str(peer_address) if peer_address is not None else peer_text
    if not is_trusted(peer_address, networks):
        return ClientAddress(shown, shown)
    entries = forwarded_for(forwarded)[-MAX_HOPS:]
    client: Address | None = None
    for entry in reversed(entries):
        address = parse_address(entry)
        if address is None:  # not an address: nothing left of it can be believed
            return ClientAddress(shown, shown, proxied=True)
        client = address
        if not is_trusted(address, networks):
            break
    if client is None:
        return ClientAddress(shown, shown, proxied=True)
    return ClientAddress(str(client), shown, proxied=True, forwarded=True)
