"""The Rasa SDK action server: one module per capability over one typed backend client."""
