"""Appeals (banding) against published results and complaints (pengaduan) from the public, run
as ISO/IEC 17024 asks of a certification body: tracked states and deadlines, a reviewer who was
not involved, decisions with reasons, and their effects through the grading and credential
services (key corrections, regrades, free re-sits, suspension or withdrawal)."""
