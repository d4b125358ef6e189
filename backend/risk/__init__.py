"""Risk and propensity scores learned from the lender's own snapshots: the chance a loan rolls
to a worse bucket within 30 days, and the chance an overdue borrower pays within 7."""
