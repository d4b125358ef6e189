"""The outbox: messages the backend sends to borrowers, delivered by the gateway."""
