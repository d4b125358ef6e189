"""Early warning: signals read from the daily snapshots that a loan is heading for trouble
before (or just as) a payment is missed; rules in config/monitoring.yml."""
