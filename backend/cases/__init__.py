"""Cases (disputes, hardship, complaints, distress, opt-outs, contact updates) and handoffs."""
