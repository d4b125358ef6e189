"""What the assistant achieves: the dashboard's figures, computed from the backend's records."""
