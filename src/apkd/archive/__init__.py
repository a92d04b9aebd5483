"""Records for auditors: ``apkd archive --session ID`` writes one signed bundle with what an
auditor needs years later; ``apkd archive verify FILE`` checks it offline
(docs/decisions/027-archive-bundle-and-retention.md)."""
