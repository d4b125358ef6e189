// A fake Telegram Bot API server (telegram-test-api) for the gateway's end-to-end tests.
// Usage: node server.js <port>
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2] || 9000);
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 3600 });
server.start().then(() => console.log(`fake Telegram Bot API on http://127.0.0.1:${port}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.stop().then(() => process.exit(0)));
}
