"""Console users: who may log in, with what role, and their sessions."""
