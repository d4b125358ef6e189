"""Loan backend: the system of record for borrowers, loans and payments."""
