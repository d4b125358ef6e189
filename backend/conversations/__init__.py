"""Conversations: a (channel, channel user id) pair, its binding to a borrower, its messages."""
