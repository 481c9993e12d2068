"""`openlive serve`'s configuration from flags, ``OPENLIVE_<NAME>`` variables and a TOML file.

Every ``serve`` flag (engines' included) has a setting of the same name: ``--max-sessions-
per-key 5`` is ``OPENLIVE_MAX_SESSIONS_PER_KEY=5`` in the environment and
``max-sessions-per-key = 5`` (or ``max_sessions_per_key``) in the file given by
``--config FILE`` (or ``$OPENLIVE_CONFIG``). A flag beats the environment, which beats the
file, which beats the default. Repeatable flags (``--api-key``, ``--allow-origin``) take a
TOML list or a comma-separated variable; API keys from all three add up, as ``--api-key``
and ``$OPENLIVE_API_KEYS`` (the older name, still read) always did. Switches
(``--no-console``) take ``true``/``false`` (``1``/``0``).

The sources are read by pydantic-settings (its environment and TOML sources) into a model
built from the argparse flags, so each value is checked with the flag's own type and
choices; the result becomes the parser's defaults (``set_defaults``), and argparse parses
the command line over them. ``openlive serve --print-config`` prints the outcome as TOML,
each value with its source, secrets masked.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "OPENLIVE_"
CONFIG_ENV = "OPENLIVE_CONFIG"
#: flags that are not settings (they choose or show the configuration, or are internal)
NOT_SETTINGS = {"help", "config", "print_config", "worker_index", "command"}
#: settings whose values are secrets: masked by --print-config
SECRET_SETTINGS = {"api_key"}
#: repeatable settings whose sources add up (flags, environment and file), as the keys
#: of ``--api-key`` and ``$OPENLIVE_API_KEYS`` always did; other lists: the first source wins
ACCUMULATE = {"api_key"}
#: older variable names still read (the first name is the setting's own)
ENV_ALIASES = {"api_key": ("OPENLIVE_API_KEY", "OPENLIVE_API_KEYS")}


class ConfigError(Exception):
    """A setting cannot be used (the message names the variable or the file's key)."""


def _split(value: Any) -> Any:
    """A repeatable flag's setting: a list, or a comma-separated string."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _settable(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions  # noqa: SLF001 - argparse has no public list
            if a.dest not in NOT_SETTINGS and a.dest != argparse.SUPPRESS and a.option_strings]


def _field(action: argparse.Action) -> tuple[Any, Any]:
    if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):  # noqa: SLF001
        kind: Any = bool
    elif isinstance(action, argparse._AppendAction):  # noqa: SLF001
        kind = Annotated[list[str], NoDecode, BeforeValidator(_split)]
    elif action.type in (int, float):
        kind = action.type
    elif action.type in (None, str):
        kind = str
    else:  # a flag's own parser (--port, --speed) runs on the value's text, in resolve()
        kind = bool | int | float | str
    aliases = ENV_ALIASES.get(action.dest)
    if aliases:
        return kind | None, Field(None, validation_alias=AliasChoices(action.dest, *aliases))
    return kind | None, None


class _Toml(TomlConfigSettingsSource):
    """The TOML file's keys with dashes as flags spell them (``max-sessions-per-key``)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = super()._read_file(file_path)
        return {str(k).replace("-", "_"): v for k, v in data.items()}


class _ServeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, case_sensitive=False,
                                      extra="forbid", populate_by_name=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):  # noqa: ANN001
        return (init_settings,)  # the sources are merged in resolve(), in their order


def settings_model(parser: argparse.ArgumentParser) -> type[BaseSettings]:
    """A pydantic-settings model with one optional field per flag of ``parser``."""
    fields = {a.dest: _field(a) for a in _settable(parser)}
    return create_model("ServeSettings", __base__=_ServeSettings, **fields)


def serve_parser(parser: argparse.ArgumentParser, name: str = "serve"
                 ) -> argparse.ArgumentParser:
    """The ``serve`` sub-parser of the ``openlive`` parser."""
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return action.choices[name]
    raise LookupError(name)


def _explicit(parser: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The settings the command line gives (whatever their value)."""
    actions = _settable(parser)
    saved = [(a, a.default) for a in parser._actions]  # noqa: SLF001
    try:
        for a, _ in saved:
            a.default = argparse.SUPPRESS
        given, _ = parser.parse_known_args(argv)
    finally:
        for a, default in saved:
            a.default = default
    return {a.dest for a in actions if hasattr(given, a.dest)}


class Resolved:
    """Each setting's value and where it came from (``flag``, ``$OPENLIVE_…``, the file's
    path, or ``default``)."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser
        self.source: dict[str, str] = {}

    def as_toml(self, args: argparse.Namespace) -> str:
        """The whole configuration as a TOML file (usable with ``--config``), secrets masked,
        each line with its source."""
        lines = ["# openlive serve: the configuration in effect (flags > environment > "
                 "file > defaults)"]
        for action in _settable(self.parser):
            dest = action.dest
            value = getattr(args, dest, None)
            source = self.source.get(dest, "default")
            key = dest.replace("_", "-")
            if value is None:
                lines.append(f"# {key} = (unset)")
                continue
            lines.append(f"{key} = {_toml_value(_masked(dest, value))}  # {source}")
        return "\n".join(lines) + "\n"


def _masked(dest: str, value: Any) -> Any:
    if dest in SECRET_SETTINGS:
        return ["***"] * len(value) if isinstance(value, list) else "***"
    if isinstance(value, str):
        return mask_url(value)
    return value


def mask_url(value: str) -> str:
    """A URL's password (``redis://user:pw@host``) masked; other strings unchanged."""
    return re.sub(r"(^[a-z][a-z0-9+.-]*://[^/@:]*:)[^/@]*@", r"\1***@", value, flags=re.I)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a TOML basic string


def resolve(parser: argparse.ArgumentParser, argv: list[str], config: str | None,
            env_config: str | None = None) -> Resolved:
    """Read the environment and the TOML file (``config``, else ``env_config`` from
    ``$OPENLIVE_CONFIG``) into ``parser``'s defaults, so that flags still win. Raises
    :class:`ConfigError` naming the variable or key at fault."""
    model = settings_model(parser)
    resolved = Resolved(parser)
    path = config or env_config
    from_file: dict[str, Any] = {}
    if path:
        if not Path(path).is_file():
            raise ConfigError(f"--config {path}: no such file")
        try:
            from_file = _Toml(model, Path(path))()
        except (OSError, ValueError) as exc:  # tomllib.TOMLDecodeError is a ValueError
            raise ConfigError(f"--config {path}: {exc}") from None
    from_env = EnvSettingsSource(model)()
    merged = {**from_file, **from_env}
    for dest in ACCUMULATE & from_file.keys() & from_env.keys():
        merged[dest] = [*_split(from_file[dest]), *_split(from_env[dest])]
    try:
        checked = model(**merged)
    except ValidationError as exc:
        raise ConfigError("; ".join(_where(err, from_env, path) for err in exc.errors())
                          ) from None
    explicit = _explicit(parser, argv)
    by_dest = {a.dest: a for a in _settable(parser)}
    defaults: dict[str, Any] = {}
    for dest in merged:
        action, value = by_dest[dest], getattr(checked, dest)
        where = f"${ENV_PREFIX}{dest.upper()}" if dest in from_env else str(path)
        if value is None:
            continue
        if action.type not in (None, str, int, float) and not isinstance(value, list):
            try:
                value = action.type(str(value))  # the flag's own parser (--port, --speed 2x)
            except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
                raise ConfigError(f"{where}: {exc}") from None
        if action.choices is not None and value not in action.choices:
            raise ConfigError(f"{where}: {value!r} is not one of "
                              f"{', '.join(map(str, action.choices))}")
        if dest in ACCUMULATE and dest in from_file and dest in from_env:
            where = f"{path} + ${ENV_PREFIX}{dest.upper()}"
        if dest in explicit and dest not in ACCUMULATE:  # a flag wins (a list too)
            continue
        defaults[dest] = value  # (an ACCUMULATE flag appends to it)
        resolved.source[dest] = where if dest not in explicit else f"flag + {where}"
    for dest in explicit - defaults.keys():
        resolved.source[dest] = "flag"
    parser.set_defaults(**defaults)
    return resolved


def _where(err: Any, from_env: dict[str, Any], path: str | None) -> str:
    dest = str(err["loc"][0]) if err.get("loc") else "?"
    if dest in from_env:
        name = f"${ENV_PREFIX}{dest.upper()}"
    elif err.get("type") == "extra_forbidden":
        return f"{path}: unknown setting {dest.replace('_', '-')!r}"
    else:
        name = f"{path}: {dest.replace('_', '-')}"
    return f"{name}: {err['msg']}"
