"""Ed25519 signing for apkd: keys (generation, encryption at rest, RFC 7638 thumbprints),
compact JWS, and the key store in the database (the credential issuer's keys and the
transparency log's key alike: creation, rotation, compromise, publication).

``apkd.credentials`` and ``apkd.translog`` both build on this package; it imports neither.
"""
