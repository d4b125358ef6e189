"""WhatsApp Business (Cloud API): a channel beside Telegram and the web chat, through the same
relay. `webhook` takes Meta's calls (signed), `render` turns replies into messages,
`cloud_api` sends them, `deliverer` carries the outbox within WhatsApp's 24-hour rule."""
