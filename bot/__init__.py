"""The channel gateway: Telegram and the web chat in, Rasa or a collector behind, and the
outbound sender for what the backend sends out."""
