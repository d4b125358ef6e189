"""SMS: one-way reminders out (with a link that opens the web chat), delivery receipts and
"STOP" in. A provider sends; `deliverer` hands it the outbox's texts; `routes` takes what the
provider calls back with."""
