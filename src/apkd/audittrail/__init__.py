"""The audit trail as the console reads it: filtered pages of events and the chain check."""
