"""The loan ledger: products, schedules, late charges, payments and the loan's position.

`terms`, `schedule`, `statement` and `delinquency` are the pure core (no database, no web);
`models`, `repository`, `service`, `schemas` and `routes` are the edges around it.
"""
