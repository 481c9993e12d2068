"""The base of every wire model: proto-JSON naming rules and Google's unknown-field check.

Google's service parses proto-JSON, so every field is accepted under its lowerCamel name
and under its original snake_case name, at every level. Models emit lowerCamel only.

Unknown names are rejected only when validating *client* input with
``context={"strict": True}`` (what the server does). Parsing *server* output (what the
client library does) tolerates fields a newer service may add.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

_URLSAFE_TO_STD = str.maketrans("-_", "+/")


def decode_base64(value: Any) -> bytes:
    """Decode standard or URL-safe base64, padded or not (proto-JSON accepts both)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if not isinstance(value, str):
        raise PydanticCustomError("bytes_type", "expected a base64 string")
    text = value.translate(_URLSAFE_TO_STD) if "-" in value or "_" in value else value
    missing = -len(text) % 4
    if missing:
        text += "=" * missing
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("bytes_type", "invalid base64") from None


def encode_base64(value: bytes) -> str:
    """Standard base64 with padding: what browsers' atob() and every SDK decode."""
    return base64.b64encode(value).decode("ascii")


_KNOWN_NAMES: dict[type, frozenset[str]] = {}

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _ranged(kind: str, low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            # the error type names the proto type: codec.describe_error labels it
            raise PydanticCustomError(f"{kind}_range", "out of range")
        return value
    return AfterValidator(check)


# Proto integer fields. A proto-JSON parser refuses a number outside the field's type
# (int32, int64), which Google's front end reports in the ESF wording openlive uses for
# every value it refuses: "Invalid value at '…' (TYPE_INT32), N". The non-negative ones
# are counts and durations, where a negative number means nothing: Google is silent on
# what Live answers for one (a negative silenceDurationMs reached the VAD and gave 1011
# with a traceback); openlive refuses it with 1007 in the same wording, naming the field.
Int32 = Annotated[int, _ranged("int32", *INT32)]
Int64 = Annotated[int, _ranged("int64", *INT64)]
NonNegativeInt32 = Annotated[int, _ranged("int32", 0, INT32[1])]
NonNegativeInt64 = Annotated[int, _ranged("int64", 0, INT64[1])]

Base64Bytes = Annotated[
    bytes,
    BeforeValidator(decode_base64),
    PlainSerializer(encode_base64, return_type=str, when_used="json"),
]


class WireModel(BaseModel):
    """A proto message: camelCase or snake_case in, camelCase out."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
        # NaN and the infinities (bare tokens, which RFC 8259 has no room for, proto-JSON's
        # "NaN"/"Infinity" strings, or 1e999) are refused in every float field: Google is
        # silent on what a model does with a NaN temperature; an error is least surprising.
        allow_inf_nan=False,
    )

    @classmethod
    def known_names(cls) -> frozenset[str]:
        names = _KNOWN_NAMES.get(cls)
        if names is None:
            found: set[str] = set()
            for name, field in cls.model_fields.items():
                found.add(name)
                if field.alias:
                    found.add(field.alias)
            names = _KNOWN_NAMES[cls] = frozenset(found)
        return names

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_names(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and info.context and info.context.get("strict"):
            known = cls.known_names()
            for key in data:
                if key not in known:
                    raise PydanticCustomError("unknown_name", "{name}", {"name": key})
        return data

    def set_paths(self, prefix: str = "") -> list[str]:
        """Dotted snake_case paths of the fields the sender set, leaves only:
        ``["generation_config.temperature", "tools"]``."""
        paths: list[str] = []
        for name in self.model_fields_set:
            value = getattr(self, name)
            path = f"{prefix}{name}"
            if isinstance(value, WireModel) and value.model_fields_set:
                paths.extend(value.set_paths(path + "."))
            elif value is not None:
                paths.append(path)
        return sorted(paths)

    def to_json_dict(self) -> dict[str, Any]:
        """The camelCase JSON object this model stands for (None fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class Empty(WireModel):
    """A message with no fields, such as ``activityStart: {}``."""
