// A fake Telegram Bot API server for the gateway's end-to-end tests and the outreach benchmark.
// Usage: node server.js <port>
//
// telegram-test-api runs on an internal port behind a small proxy that fills the gaps between
// it and the real Bot API, so the unmodified gateway (`python -m bot serve`, python-telegram-bot)
// works against it: getMe gains `is_bot`, callback queries gain `chat_instance`,
// editMessageReplyMarkup answers `true`, and dates are in seconds, not milliseconds. Only the
// bot's routes (/bot<token>/<method>) are rewritten; the client routes the tests use to play a
// user (sendMessage, sendCommand, sendCallback, getUpdatesHistory) pass through unchanged.
//
// Webhooks as Telegram delivers them: a bot's setWebhook is recorded here and the inner server
// posts to this proxy, which queues each update and posts it, in order, to the bot's URL with
// its secret token (X-Telegram-Bot-Api-Secret-Token), retrying until the bot answers 2xx. Each
// update gets an update_id of its own here: the inner server gives two users' messages sent at
// the same moment the same one (it counts up only once its webhook call returns), and a bot
// drops an update_id it has handled.
//
// Failures on demand, for the fault matrix: POST /__control/failures {"status": 429,
// "seconds": 60, "retry_after": 1} makes every bot method answer that status for that long
// (429 with Telegram's retry_after); {"seconds": 0} ends it.
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

const webhooks = new Map(); // bot token -> { url, secret, queue: [body], busy }
let lastUpdateId = 0;
let failing = { until: 0, status: 0, retryAfter: 1 };
const RETRY_MS = 1000;
const GIVE_UP_MS = 3600 * 1000; // Telegram keeps an update for a day; a test never needs more

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function answer(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// setWebhook's parameters, JSON or a form (python-telegram-bot sends a form).
function parameters(req, raw) {
  const text = raw.toString('utf8');
  if (/application\/json/.test(req.headers['content-type'] || '')) {
    try {
      return JSON.parse(text);
    } catch (error) {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function post(url, body, secret) {
  return new Promise((resolve) => {
    const target = new URL(url);
    const request = http.request(
      {
        host: target.hostname,
        port: target.port || 80,
        path: target.pathname + target.search,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}),
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode));
      },
    );
    request.on('error', () => resolve(0));
    request.setTimeout(30000, () => request.destroy());
    request.end(body);
  });
}

async function deliver(token) {
  const hook = webhooks.get(token);
  if (!hook || hook.busy) return;
  hook.busy = true;
  while (hook.queue.length) {
    const { body, since } = hook.queue[0];
    const status = await post(hook.url, body, hook.secret);
    if ((status >= 200 && status < 300) || Date.now() - since > GIVE_UP_MS) {
      hook.queue.shift();
    } else {
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  hook.busy = false;
}

function proxyTo(internalPort, ownPort) {
  return http.createServer(async (req, res) => {
    if (req.url === '/__control/failures' && req.method === 'POST') {
      const wanted = JSON.parse((await readBody(req)).toString('utf8') || '{}');
      failing = {
        until: Date.now() + 1000 * Number(wanted.seconds || 0),
        status: Number(wanted.status || 500),
        retryAfter: Number(wanted.retry_after || 1),
      };
      answer(res, 200, { ok: true });
      return;
    }
    const delivered = /^\/__webhook\/(.+)$/.exec(req.url);
    if (delivered && req.method === 'POST') {
      const hook = webhooks.get(decodeURIComponent(delivered[1]));
      if (hook) {
        let body = await readBody(req);
        try {
          const update = JSON.parse(body.toString('utf8'));
          update.update_id = ++lastUpdateId;
          body = Buffer.from(JSON.stringify(update));
        } catch (error) {
          // not JSON: delivered as it came
        }
        hook.queue.push({ body, since: Date.now() });
        deliver(decodeURIComponent(delivered[1]));
      }
      answer(res, 200, { ok: true });
      return;
    }
    const bot = BOT_METHOD.exec(req.url);
    if (bot && Date.now() < failing.until) {
      const status = failing.status;
      answer(res, status, {
        ok: false,
        error_code: status,
        description: status === 429 ? `Too Many Requests: retry after ${failing.retryAfter}` : 'Bad Gateway',
        ...(status === 429 ? { parameters: { retry_after: failing.retryAfter } } : {}),
      });
      return;
    }
    if (bot && bot[1].toLowerCase() === 'setwebhook') {
      const token = /^\/bot([^/]+)\//.exec(req.url)[1];
      const wanted = parameters(req, await readBody(req));
      const existing = webhooks.get(token);
      if (existing) {
        // The same hook, changed in place: a delivery running on it (a bot that restarts sets
        // its webhook again) goes on, and the updates queued meanwhile are not left behind.
        existing.url = wanted.url;
        existing.secret = wanted.secret_token || '';
      } else {
        webhooks.set(token, { url: wanted.url, secret: wanted.secret_token || '', queue: [], busy: false });
      }
      // The inner server posts to us; we post on to the bot as Telegram would.
      const inner = JSON.stringify({ url: `http://${HOST}:${ownPort}/__webhook/${encodeURIComponent(token)}` });
      const upstream = http.request(
        {
          host: HOST,
          port: internalPort,
          method: 'POST',
          path: req.url.split('?')[0],
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(inner) },
        },
        (reply) => {
          reply.resume();
          answer(res, 200, { ok: true, result: true, description: 'Webhook was set' });
        },
      );
      upstream.on('error', (error) => answer(res, 502, { ok: false, error_code: 502, description: String(error) }));
      upstream.end(inner);
      return;
    }
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
  const proxy = proxyTo(internalPort, port);
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
