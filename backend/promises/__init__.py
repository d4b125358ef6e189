"""Promises to pay: a borrower (through the assistant) or a collector records an amount and a
date; payments decide whether it was kept; broken ones in a row flag the loan for a person.

`rules` is the pure core; `models`, `service`, `schemas` and `routes` are the edges around it.
"""
