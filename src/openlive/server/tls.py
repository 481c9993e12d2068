"""TLS for the Python SDK, which always dials wss://: a self-signed certificate on demand."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("localhost", "127.0.0.1", "::1")


def ensure_self_signed(directory: str | Path) -> tuple[Path, Path, bool]:
    """DIR/cert.pem and DIR/key.pem, valid for localhost, 127.0.0.1 and ::1.

    Returns (cert, key, created); an existing pair is reused.
    """
    directory = Path(directory)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path, False
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openlive localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "openlive (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path, True


def server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


def trust_instructions(cert: Path, port: int) -> str:
    return (
        f"TLS: self-signed certificate {cert} (valid for {', '.join(HOSTS)}). Trust it with:\n"
        f"  python (google-genai): http_options={{'base_url': 'https://127.0.0.1:{port}', "
        f"'async_client_args': {{'ssl': ssl.create_default_context(cafile='{cert}')}}}}\n"
        f"                         or SSL_CERT_FILE={cert}\n"
        f"  node (@google/genai):  NODE_EXTRA_CA_CERTS={cert}\n"
        f"  curl:                  curl --cacert {cert} https://127.0.0.1:{port}/healthz"
    )
