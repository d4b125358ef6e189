// A fake Telegram Bot API server for the gateway's end-to-end tests and the outreach benchmark.
// Usage: node server.js <port>
//
// telegram-test-api runs on an internal port behind a small proxy that fills the gaps between
// it and the real Bot API, so the unmodified gateway (`python -m bot serve`, python-telegram-bot)
// works against it: getMe gains `is_bot`, callback queries gain `chat_instance`,
// editMessageReplyMarkup answers `true`, and dates are in seconds, not milliseconds. Only the
// bot's routes (/bot<token>/<method>) are rewritten; the client routes the tests use to play a
// user (sendMessage, sendCommand, sendCallback, getUpdatesHistory) pass through unchanged.
const http = require('http');
const net = require('net');
const TelegramServer = require('telegram-test-api');

const HOST = '127.0.0.1';
const BOT_METHOD = /^\/bot[^/]+\/([A-Za-z]+)/;

// A date in milliseconds (Telegram's are seconds): later than 5138 in seconds.
const MILLISECONDS = 1e11;

function fillGaps(value) {
  if (Array.isArray(value)) {
    value.forEach(fillGaps);
  } else if (value && typeof value === 'object') {
    if (Number.isInteger(value.date) && value.date > MILLISECONDS) {
      value.date = Math.floor(value.date / 1000);
    }
    const query = value.callback_query;
    if (query && typeof query === 'object' && query.chat_instance === undefined) {
      const chat = (query.message && query.message.chat) || query.from || {};
      query.chat_instance = String(chat.id ?? 'fake');
    }
    Object.values(value).forEach(fillGaps);
  }
}

// The body the real Bot API would give for `method`.
function asTelegram(method, body) {
  if (!body || typeof body !== 'object' || body.ok !== true) return body;
  if (method === 'getme' && body.result && typeof body.result === 'object') {
    body.result.is_bot = true;
  }
  if (method === 'editmessagereplymarkup' && body.result == null) {
    body.result = true; // what Telegram answers for an edited markup
  }
  fillGaps(body.result);
  return body;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function proxyTo(internalPort) {
  return http.createServer((req, res) => {
    const upstream = http.request(
      { host: HOST, port: internalPort, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const match = BOT_METHOD.exec(req.url);
        const json = /application\/json/.test(answer.headers['content-type'] || '');
        if (!match || !json) {
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
          return;
        }
        const chunks = [];
        answer.on('data', (chunk) => chunks.push(chunk));
        answer.on('end', () => {
          let text = Buffer.concat(chunks).toString('utf8');
          try {
            text = JSON.stringify(asTelegram(match[1].toLowerCase(), JSON.parse(text)));
          } catch (error) {
            // not JSON after all: passed on as it came
          }
          const headers = { ...answer.headers, 'content-length': Buffer.byteLength(text) };
          delete headers['transfer-encoding'];
          delete headers.etag;
          res.writeHead(answer.statusCode, headers);
          res.end(text);
        });
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) {
        res.destroy(error);
        return;
      }
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error_code: 502, description: String(error) }));
    });
    req.pipe(upstream);
  });
}

async function main() {
  const port = Number(process.argv[2] || 9000);
  const internalPort = await freePort();
  const server = new TelegramServer({ port: internalPort, host: HOST, storeTimeout: 3600 });
  await server.start();
  const proxy = proxyTo(internalPort);
  await new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(port, HOST, resolve);
  });
  console.log(`fake Telegram Bot API on http://${HOST}:${port}`);
  const stop = () => {
    proxy.close();
    proxy.closeAllConnections();
    server.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
