"""Exam sites without internet (issue 16): session packages exported by the centre, loaded,
unlocked and sealed on a site server, and the sealed results ingested back at the centre.

See docs/decisions/024-site-packages.md (format and flow) and 025-site-threat-model.md.
"""
