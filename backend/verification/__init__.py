"""Right-party verification: binding a conversation to a borrower, and nothing before it."""
