"""The audit log: who read or changed which borrower's data, when, through what."""
