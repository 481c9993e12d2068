"""Close codes and Google's reason strings (spec/protocol.md §5)."""

from __future__ import annotations

MAX_REASON_BYTES = 123  # the WebSocket limit for a close reason; Google cuts there too

INVALID_ARGUMENT = "Request contains an invalid argument."
INVALID_JSON = "Invalid JSON payload received. "
SETUP_ORDER = "setup must be the first message and only the first"
API_KEY_INVALID = "API key not valid. Please pass a valid API key."
UNREGISTERED_CALLER = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
INTERNAL = "Internal error encountered."
UNAVAILABLE = "The service is currently unavailable."
DEADLINE_EXCEEDED = "Deadline expired before operation could complete."
SESSION_NOT_FOUND = "BidiGenerateContent session not found"
# gRPC RESOURCE_EXHAUSTED (quota, concurrent sessions), sent as 1011 like every 5xx-class status
RESOURCE_EXHAUSTED = "Resource has been exhausted (e.g. check quota)."
EXPLICIT_ACTIVITY_WITH_VAD = (
    "Explicit activity control is not supported when automatic activity detection is enabled."
)


def model_not_found(model: str, version: str) -> str:
    return (
        f"{model} is not found for API version {version}, or is not supported for "
        "bidiGenerateContent. Call ListModels to see the list of available models and their "
        "supported methods."
    )


def cut_reason(reason: str) -> str:
    """Cut a reason to 123 UTF-8 bytes without splitting a character. A lone surrogate
    (which no close frame can carry) becomes "?"."""
    raw = reason.encode("utf-8", errors="replace")
    if len(raw) <= MAX_REASON_BYTES:
        return raw.decode("utf-8")
    return raw[:MAX_REASON_BYTES].decode("utf-8", errors="ignore")


class LiveError(Exception):
    """Ends one session with a WebSocket close code and a reason, as Google's service does."""

    def __init__(self, code: int, reason: str, detail: str | None = None) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = cut_reason(reason)
        # for the operator's log only, never sent: Google's reason is often the same text for
        # different causes (an unknown, an expired and a spent token)
        self.detail = detail

    @classmethod
    def invalid_argument(cls, detail: str = INVALID_ARGUMENT) -> LiveError:
        return cls(1007, detail)

    @classmethod
    def internal(cls) -> LiveError:
        return cls(1011, INTERNAL)


def error_body(code: int, status: str, message: str, reason: str | None = None) -> dict:
    """Google's JSON error body for an HTTP status ``code`` and its google.rpc status name
    (400 ``INVALID_ARGUMENT`` or ``FAILED_PRECONDITION``, 401 ``UNAUTHENTICATED``, 403
    ``PERMISSION_DENIED``, 404 ``NOT_FOUND``, 429 ``RESOURCE_EXHAUSTED``, 503
    ``UNAVAILABLE``…): ``{"error": {"code", "message", "status"}}``, with an ``ErrorInfo``
    detail when a ``reason`` is given (e.g. ``API_KEY_INVALID``)."""
    error: dict = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": reason, "domain": "googleapis.com"}]
    return {"error": error}


def credential_error_body(refused: LiveError) -> tuple[int, dict]:
    """A refused credential on a REST route, as Google's REST answers it: a wrong key is
    400 INVALID_ARGUMENT (reason API_KEY_INVALID), no credential 403 PERMISSION_DENIED
    with the unregistered-callers text (whole: a close reason is cut, a body is not)."""
    if refused.code == 1007:
        return 400, error_body(400, "INVALID_ARGUMENT", API_KEY_INVALID, "API_KEY_INVALID")
    return 403, error_body(403, "PERMISSION_DENIED", UNREGISTERED_CALLER)
