"""Keeping the assistant understanding borrowers: the messages it misunderstood, and the
labels operations staff give them, written into the NLU training data."""
