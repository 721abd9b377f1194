"""The emulator's own certificate authority, for the HTTPS proxy (:mod:`emulator.proxy`).

Generated once (ECDSA P-256, ten years) into a directory, by default beside the database, so
it survives restarts and a user trusts it once. Leaf certificates for the vendors' host names
are minted on demand, signed by it, and cached in memory with their :class:`ssl.SSLContext`.
"""
from __future__ import annotations

import datetime
import os
import ssl
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

# cryptography (~30-100 ms to import) is imported by the functions that sign or parse, in the
# worker thread that loads the CA (emulator.server), and never when the proxy is off
if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
CA_DIR_NAME = "device-emulator-ca"
CA_NAME = "device-api-emulator local CA"
#: leaves live at most 397 days: Apple's and the browsers' cap on server certificates
LEAF_DAYS = 397
CA_DAYS = 3650
_CLOCK_SKEW = datetime.timedelta(days=1)
#: leaf contexts kept (least recently used dropped): Beams hosts name any instance, so the set of
#: host names a client can ask for is unbounded
LEAF_CACHE_SIZE = 1024


class CAError(ValueError):
    """The CA directory holds something that is not a usable CA."""


def default_ca_dir(db: str) -> Path | None:
    """Beside the database file; ``None`` for an in-memory database (a throwaway CA)."""
    if db == ":memory:" or db.startswith("file::memory:"):
        return None
    return Path(db).expanduser().resolve().parent / CA_DIR_NAME


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "device-api-emulator"),
    ])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _write_new(directory: Path) -> None:
    """Write a new CA unless another process wins the race: the key file is linked into place
    with ``os.link`` (fails if it exists), then the certificate."""
    from cryptography.hazmat.primitives import serialization

    key, cert = _new_ca()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_key = tempfile.mkstemp(dir=directory, prefix=".ca-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key_pem)
        os.close(fd)
        fd = -1
        fd2, tmp_cert = tempfile.mkstemp(dir=directory, prefix=".ca-")
        os.fchmod(fd2, 0o644)  # the certificate is public: an app container may read it from the volume
        with os.fdopen(fd2, "wb") as f:
            f.write(cert_pem)
        try:
            os.link(tmp_key, directory / CA_KEY_FILE)
        except FileExistsError:  # another process made one first: use theirs
            os.unlink(tmp_cert)
            return
        os.replace(tmp_cert, directory / CA_CERT_FILE)
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp_key)


class CertificateAuthority:
    """The CA (loaded or made) and the leaf contexts minted from it."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate, directory: Path | None) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        self.key = key
        self.cert = cert
        self.directory = directory
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        # one key for every leaf: minting is then one signature, about a millisecond
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._leaf_key_pem = self._leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()
        self._lock = threading.Lock()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def cert_path(self) -> Path:
        """A file holding the CA certificate (a temporary one for a throwaway CA)."""
        if self.directory is not None:
            return self.directory / CA_CERT_FILE
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="device-emulator-ca-")
            (Path(self._tmp.name) / CA_CERT_FILE).write_bytes(self.cert_pem)
        return Path(self._tmp.name) / CA_CERT_FILE

    @classmethod
    def load_or_create(cls, directory: Path | None) -> CertificateAuthority:
        """The CA kept in ``directory`` (made on first use); a throwaway one for ``None``."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        if directory is None:
            key, cert = _new_ca()
            return cls(key, cert, None)
        key_file, cert_file = directory / CA_KEY_FILE, directory / CA_CERT_FILE
        if not key_file.exists():
            _write_new(directory)
        deadline = time.monotonic() + 5
        while not cert_file.exists() and time.monotonic() < deadline:  # the winner is still writing
            time.sleep(0.05)
        try:
            loaded_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        except (OSError, ValueError, TypeError) as exc:
            raise CAError(f"CA directory {directory}: cannot read {CA_KEY_FILE}/{CA_CERT_FILE} ({exc}); "
                          "remove the directory to make a new CA") from None
        public = cert.public_key()
        if not isinstance(loaded_key, ec.EllipticCurvePrivateKey) or not isinstance(public, ec.EllipticCurvePublicKey) \
                or public.public_numbers() != loaded_key.public_key().public_numbers():
            raise CAError(f"CA directory {directory}: {CA_KEY_FILE} does not match {CA_CERT_FILE}; "
                          "remove the directory to make a new CA")
        return cls(loaded_key, cert, directory)

    def leaf_pem(self, host: str) -> bytes:
        """A new certificate for ``host`` signed by the CA (PEM)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = _now()
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            # a CN holds at most 64 characters (a Beams host has 66); clients match the SAN
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host if len(host) <= 64 else host[:64])]))
            .issuer_name(self.cert.subject)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _CLOCK_SKEW)
            .not_valid_after(min(now + datetime.timedelta(days=LEAF_DAYS), self.cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def server_context(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context presenting a leaf for ``host`` (minted once, then cached)."""
        host = host.lower()
        with self._lock:
            ctx = self._contexts.get(host)
            if ctx is not None:
                self._contexts.move_to_end(host)
                return ctx
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_alpn_protocols(["http/1.1"])
            # load_cert_chain reads files only: a private temporary directory, removed at once
            with tempfile.TemporaryDirectory(prefix="device-emulator-leaf-") as tmp:
                chain, key = Path(tmp) / "leaf.pem", Path(tmp) / "leaf-key.pem"
                chain.write_bytes(self.leaf_pem(host) + self.cert_pem)
                key.write_bytes(self._leaf_key_pem)
                ctx.load_cert_chain(chain, key)
            self._contexts[host] = ctx
            if len(self._contexts) > LEAF_CACHE_SIZE:
                self._contexts.popitem(last=False)
            return ctx
