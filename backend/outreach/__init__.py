"""Proactive outreach: reminders planned from each loan's position and sent inside the
compliance rules."""
