"""The collector console: server-rendered pages, and the read-only view queries they render."""
