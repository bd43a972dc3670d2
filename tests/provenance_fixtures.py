"""Media that carries provenance, made here: C2PA credentials signed with a certificate chain
generated on the spot (no key or certificate is committed), and stills with the known
invisible watermarks embedded by the invisible-watermark library itself."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import cv2
import numpy as np

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def _chain():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str):
        return x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tests")]
        )

    def usage(sign_certs: bool):
        return x509.KeyUsage(True, False, False, False, False, sign_certs, sign_certs, False, False)

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    valid = {"not_valid_before": now - datetime.timedelta(days=1), "not_valid_after": now + datetime.timedelta(days=30)}
    ca = (
        x509.CertificateBuilder(
            subject_name=name("Test CA"),
            issuer_name=name("Test CA"),
            public_key=ca_key.public_key(),
            serial_number=x509.random_serial_number(),
            **valid,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder(
            subject_name=name("Test signer"),
            issuer_name=ca.subject,
            public_key=key.public_key(),
            serial_number=x509.random_serial_number(),
            **valid,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, private


def sign_c2pa(
    source: Path, target: Path, source_type: str = "trainedAlgorithmicMedia", generator: str = "test-generator"
) -> Path:
    """``source`` (a JPEG) copied to ``target`` with a C2PA manifest whose c2pa.created action
    declares the IPTC digital source type ``source_type``, claimed by ``generator`` 1.0."""
    import c2pa

    pem, private = _chain()
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pem, private, None))
    manifest = {
        "claim_generator_info": [{"name": generator, "version": "1.0"}],
        "title": target.name,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": IPTC + source_type}]},
            }
        ],
    }
    builder = c2pa.Builder(json.dumps(manifest))
    with open(source, "rb") as src, open(target, "wb") as dst:
        builder.sign(signer, "image/jpeg", src, dst)
    return target


# A bundled sample on which the library's DWT-DCT marks read back bit for bit (on busy or
# saturated pictures the method itself loses bits: docs on deepfake_scanner.provenance).
WATERMARK_BASE = Path(__file__).resolve().parents[1] / "samples" / "real_img41.jpg"


def watermarked(kind: str, payload, method: str = "dwtDct") -> np.ndarray:
    """WATERMARK_BASE (BGR) with ``payload`` embedded by the invisible-watermark library."""
    from deepfake_scanner.provenance import _imwatermark

    encoder = _imwatermark().WatermarkEncoder()
    encoder.set_watermark(kind, payload)
    return encoder.encode(cv2.imread(str(WATERMARK_BASE), cv2.IMREAD_COLOR), method)
