"""Borrowers: identity, contact details and language."""
