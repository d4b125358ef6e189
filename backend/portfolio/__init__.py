"""The portfolio over time: daily snapshots of every loan, and what is read from them."""
