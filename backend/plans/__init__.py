"""Repayment plans: the policy, the offers a loan gets, arrangements and supervisor approvals."""
