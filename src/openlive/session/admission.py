"""Who gets in: the admission rules every Live edge applies, no I/O.

The server's session core, the relay and the replay all let a connection in by the same
rules, so none of them re-implements one:

1. **The credential error waits for the first frame.** Google accepts the WebSocket
   handshake with a wrong key and closes after the client's first message
   (spec/protocol.md §1, captures ``py-err-reject401``, ``js-err-reject401``).
2. **setup first.** The first message must be ``setup`` (1007, :data:`errors.SETUP_ORDER`).
3. **An ephemeral token constrains the setup** (``liveConnectConstraints`` and the field
   mask, spec/sdk-wire.md §6) and **spends one use, unless the setup resumes a session**;
   past ``newSessionExpireTime`` no new session starts (spec/protocol.md §1).
4. **A resumption handle must name a stored, unexpired session of the same model**
   (spec/protocol.md §4): older handles of a session are aliases of its newest.
5. **A session resumes only under the credential that created it**: the same API key, or
   an ephemeral token minted with that key (:func:`owner_of`); any other credential is told
   the session does not exist (1008 SESSION_NOT_FOUND). Google does not document this; a
   handle is a bearer secret otherwise, and one key's client could take over another's
   session (issue 13).

:class:`Gate` holds one connection's answers to these; the edge fetches what it asks for
(a stored session, a token use) and hands it back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..wire import errors
from ..wire.codec import parse_client_frame
from ..wire.errors import LiveError
from ..wire.setup import Setup
from . import tokens as tk

#: An older handle of a session points at a newer one; a chain longer than this is broken.
MAX_ALIAS_HOPS = 16
ANONYMOUS = "anonymous"  # an open server's client without a key


def owner_of(api_key: str | None) -> str:
    """Who owns the sessions a key opens: a 128-bit one-way label of the key (stored with
    each session and in the tokens the key mints; never the key)."""
    if not api_key:
        return ANONYMOUS
    return "owner:" + hashlib.sha256(b"openlive-owner\0" + api_key.encode()).hexdigest()[:32]


def token_owner(record: dict[str, Any]) -> str:
    """A token's sessions belong to the key that minted it (or to the token alone)."""
    return str(record.get("owner") or "token:" + str(record.get("name")))


@dataclass
class Gate:
    """One connection's admission. Use, in order:

    * :meth:`first_frame` on the first data frame (raises the deferred credential error);
    * :meth:`setup_of` to parse it as the setup (setup first, the token's constraints);
    * when :meth:`token_use_needed`: spend one use in the store, then :meth:`token_spent`
      (:meth:`spend_args` names the token and its uses);
    * when the setup resumes: load each handle :attr:`handle_to_load` names and pass what
      the store had to :meth:`handle_loaded`, until :attr:`handle_to_load` is None; then
      :attr:`snapshot` is the stored session (None: unknown) — :meth:`check_snapshot`.
    """

    auth_error: LiveError | None = None
    token: dict[str, Any] | None = None  # the ephemeral token's store record
    owner: str = ANONYMOUS  # owner_of(key) or token_owner(token): whose sessions these are
    handle_to_load: str | None = None
    snapshot: dict[str, Any] | None = None
    found_handle: str | None = None  # the handle whose record held the session
    _hops: int = field(default=0, repr=False)

    def first_frame(self) -> None:
        """The client's first frame arrived: refuse it now if the credentials were bad."""
        if self.auth_error is not None:
            raise self.auth_error

    def setup_of(self, frame: str | bytes) -> Setup:
        """The first frame as a setup, constrained by the token (LiveError if not a setup)."""
        message = parse_client_frame(frame)
        if message.kind != "setup" or message.setup is None:
            raise LiveError(1007, errors.SETUP_ORDER)
        return self.constrain(message.setup)

    def constrain(self, setup: Setup) -> Setup:
        """The setup after the token's locked fields (the client's own without a token)."""
        if self.token is None:
            return setup
        return tk.constrain_setup(setup, self.token)

    def locks(self) -> dict[str, Any] | None:
        """What the token locks (its setup and field mask), kept with the session so that
        the locks hold when it is resumed through any endpoint."""
        if self.token is None or not self.token.get("setup"):
            return None
        return {"setup": self.token["setup"], "field_mask": self.token.get("field_mask")}

    def token_use_needed(self, setup: Setup) -> bool:
        """Whether to spend one of the token's uses: each new session does, a resumption
        does not."""
        return self.token is not None and not resumes(setup)

    def token_spent(self, spent: bool, now: float) -> None:
        """The store's answer to spending one use (False: none was left). Raises LiveError
        to refuse, also past the token's ``newSessionExpireTime``."""
        assert self.token is not None
        refused = tk.new_session_error(self.token, now)
        if refused is not None:
            raise refused
        if not spent:
            raise LiveError(1008, errors.UNREGISTERED_CALLER,
                            "ephemeral token spent (no use left)")

    def spend_args(self) -> tuple[str, int]:
        """The token's name and its number of uses: what the store's ``spend_token`` takes."""
        assert self.token is not None
        return self.token["name"], int(self.token.get("uses", 1))

    def start_lookup(self, handle: str) -> None:
        self.handle_to_load, self._hops, self.snapshot = handle, 0, None

    def handle_loaded(self, record: dict[str, Any] | None) -> None:
        """What the store holds under :attr:`handle_to_load`: a session, an alias of a newer
        handle (then :attr:`handle_to_load` names it), or None."""
        handle, self.handle_to_load = self.handle_to_load, None
        if record is not None and "alias" in record:
            self._hops += 1
            if self._hops <= MAX_ALIAS_HOPS:
                self.handle_to_load = str(record["alias"])
            return
        self.snapshot = record
        if record is not None:
            self.found_handle = handle

    def check_snapshot(self, model: str | None, now: float) -> dict[str, Any]:
        """The stored session to continue. Raises LiveError when it is unknown, expired,
        another credential's, or of another model (the config may change on resumption,
        the model may not)."""
        snapshot = self.snapshot
        if snapshot is None or snapshot.get("expires_at", 0) <= now:
            raise LiveError(1008, errors.SESSION_NOT_FOUND)
        if snapshot.get("owner", self.owner) != self.owner:
            raise LiveError(1008, errors.SESSION_NOT_FOUND)
        if snapshot.get("model") != model:
            raise LiveError(1007, errors.INVALID_ARGUMENT)
        return snapshot


def resumes(setup: Setup) -> str | None:
    """The resumption handle a setup continues from (None: a new session)."""
    return (setup.session_resumption and setup.session_resumption.handle) or None
