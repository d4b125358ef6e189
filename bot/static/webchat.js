/* Web chat page. Talks to the gateway's web chat API:
 *   POST /webchat/sessions   {sender, token}: this chat (continued while its cookie is valid)
 *   POST /webchat/messages   {sender, message, metadata} -> [{recipient_id, text, buttons}]
 *   GET  /webchat/events     Server-Sent Events: collector replies, notices, reminders
 *   GET  /webchat/history    {messages: [{from, text, buttons, sent_at}]}
 * The chat's secret is the session token in an HttpOnly cookie the gateway sets: this script
 * never sees or stores it (it ignores the token in the answer), and nothing secret is ever in an
 * address. A 401 means the session is over (idle too long): the page starts a new one.
 * Every message carries an id of its own (metadata.message_id). A call that fails on the way
 * (no answer, nginx's 502/503/504) is sent again with the same id a few times, and so is the
 * same text sent again by hand after that: the gateway logs a message id once and answers a
 * repeat with the same replies, so a retry neither loses nor doubles a message.
 * Every text from the borrower, the bot or a collector is untrusted: it is only ever set with
 * textContent / createTextNode, never as HTML. No dependencies, no external assets.
 */
(() => {
  "use strict";

  const API = "/webchat";
  const OLD_SENDER_KEY = "webchat.sender"; // what pages before sessions kept: removed
  const LANGUAGE_KEY = "webchat.language";
  const SENDER_RE = /^[A-Za-z0-9_.:-]{8,128}$/;
  const TOKEN_RE = /^[A-Za-z0-9_-]{1,256}$/;
  const POST_TIMEOUT_MS = 60000;
  const NEAR_BOTTOM_PX = 120;
  const LOST_NOTICE_DELAY_MS = 1500;
  const MAX_RETRY_MS = 30000;
  const RESEND_DELAYS_MS = [1000, 2000, 4000]; // a call that failed on the way, sent again

  const STRINGS = {
    en: {
      title: "Repayment assistant",
      conversation: "Conversation",
      inputLabel: "Your message",
      placeholder: "Type a message",
      send: "Send",
      human: "Talk to a person",
      otherLanguage: "中文",
      otherLanguageCode: "zh",
      switchLanguage: "切换到中文",
      languageEcho: "Switch language",
      linkEcho: "Link this chat to my loan",
      typing: "The assistant is typing",
      hint: "Enter sends, Shift+Enter starts a new line.",
      connectionLost: "Connection lost, retrying…",
      notSent: "The assistant is not reachable, your message was not sent — try again.",
      tooFast: "You are sending messages too fast: wait a moment, then send again.",
      rejected: "That message could not be sent (is it too long?). Please change it and try again.",
      historyFailed: "Earlier messages could not be loaded.",
      personJoined: "A person has joined the chat",
      collector: "Customer service (a person)",
      options: "Options",
      image: "Open the picture",
    },
    zh: {
      title: "还款助手",
      conversation: "对话",
      inputLabel: "输入消息",
      placeholder: "请输入消息",
      send: "发送",
      human: "转人工客服",
      otherLanguage: "English",
      otherLanguageCode: "en",
      switchLanguage: "Switch to English",
      languageEcho: "切换语言",
      linkEcho: "关联我的贷款",
      typing: "助手正在输入",
      hint: "按 Enter 发送，Shift+Enter 换行。",
      connectionLost: "连接已断开，正在重试…",
      notSent: "暂时无法连接助手，您的消息没有发送成功，请重试。",
      tooFast: "发送太快了，请稍等片刻再发送。",
      rejected: "这条消息无法发送（可能太长了），请修改后重试。",
      historyFailed: "之前的消息加载失败。",
      personJoined: "人工客服已加入对话",
      collector: "人工客服",
      options: "选项",
      image: "查看图片",
    },
  };

  const state = {
    sender: "",
    language: "en",
    busy: false,
    lastSpeaker: null, // "bot" | "collector": a collector after the bot gets a "joined" line
    source: null,
    retryMs: 1000,
    retryTimer: null,
    lostTimer: null,
    connectionLost: false,
    refreshAfterSend: false,
    unsent: null, // {message, id}: what failed last, so sending it again keeps its id
  };

  const $ = (id) => document.getElementById(id);
  const ui = {};

  function t() {
    return STRINGS[state.language];
  }

  function el(tag, className) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  // ---- storage and identity -------------------------------------------------------------

  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (_) {
      return null; // storage disabled: this tab only
    }
  }

  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (_) {
      /* storage disabled or full: keep it in memory for this tab */
    }
  }

  function forgetOldSender() {
    try {
      window.localStorage.removeItem(OLD_SENDER_KEY);
    } catch (_) {
      /* storage disabled: nothing kept */
    }
  }

  /** This chat's session: the cookie's chat continued, or a new one. Resolves to whether the
   * chat is another one than the page showed (then its history is loaded again). */
  async function openSession() {
    const response = await fetch(API + "/sessions", {
      method: "POST",
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!response.ok) throw new Error("session: HTTP " + response.status);
    const body = await response.json();
    if (!body || typeof body.sender !== "string" || !SENDER_RE.test(body.sender)) {
      throw new Error("session: no sender");
    }
    const changed = body.sender !== state.sender;
    state.sender = body.sender; // the token stays in its HttpOnly cookie
    return changed;
  }

  function pickLanguage(params) {
    const asked = (params.get("lang") || "").toLowerCase();
    if (asked === "zh" || asked === "en") return asked;
    const stored = storageGet(LANGUAGE_KEY);
    if (stored === "zh" || stored === "en") return stored;
    const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "";
    return browser.toLowerCase().startsWith("zh") ? "zh" : "en";
  }

  // ---- address bar ----------------------------------------------------------------------

  /** Take the one-time link token out of the address, so a reload or bookmark never has it. */
  function takeStartToken() {
    const params = new URLSearchParams(window.location.search);
    if (!params.has("start")) return "";
    const token = (params.get("start") || "").trim();
    params.delete("start");
    replaceQuery(params);
    return TOKEN_RE.test(token) ? token : "";
  }

  function replaceQuery(params) {
    const query = params.toString();
    const url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    try {
      window.history.replaceState(window.history.state, "", url);
    } catch (_) {
      /* very old browsers: nothing to do */
    }
  }

  // ---- language -------------------------------------------------------------------------

  function applyLanguage(language) {
    state.language = language;
    const s = t();
    document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
    document.title = s.title;
    ui.title.textContent = s.title;
    ui.log.setAttribute("aria-label", s.conversation);
    ui.inputLabel.textContent = s.inputLabel;
    ui.input.placeholder = s.placeholder;
    ui.send.textContent = s.send;
    ui.human.textContent = s.human;
    ui.language.textContent = s.otherLanguage;
    ui.language.lang = s.otherLanguageCode === "zh" ? "zh-CN" : "en";
    ui.language.setAttribute("aria-label", s.switchLanguage);
    ui.typingText.textContent = s.typing;
    ui.hint.textContent = s.hint;
    if (state.connectionLost) ui.connection.textContent = s.connectionLost;
    const params = new URLSearchParams(window.location.search);
    if (params.has("lang")) {
      params.set("lang", language);
      replaceQuery(params);
    }
  }

  // ---- rendering ------------------------------------------------------------------------

  const URL_RE = /https?:\/\/[^\s<>"'）】」』]+/gi;
  const URL_TRAILING_RE = /[.,;:!?'")\]}。，；：！？、]+$/u;

  function safeHref(text) {
    try {
      const url = new URL(text);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function link(href, text, className) {
    const a = el("a", className);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = text;
    return a;
  }

  /** Append text to parent as text nodes, with http(s) addresses (a payment link) as links. */
  function appendText(parent, text, linkify) {
    if (!linkify) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    let last = 0;
    URL_RE.lastIndex = 0;
    let match;
    while ((match = URL_RE.exec(text)) !== null) {
      const candidate = match[0].replace(URL_TRAILING_RE, "");
      const end = match.index + candidate.length;
      const href = safeHref(candidate);
      if (href) {
        parent.appendChild(document.createTextNode(text.slice(last, match.index)));
        parent.appendChild(link(href, candidate));
        last = end;
      }
      URL_RE.lastIndex = Math.max(end, match.index + 1);
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /** What the borrower's own message shows as: commands in words, never a link token. */
  function borrowerText(message) {
    const text = String(message);
    if (/^\/start(\s|$)/.test(text)) return t().linkEcho;
    if (/^\/human\s*$/.test(text)) return t().human;
    if (/^\/language(\s|$)/.test(text)) return t().languageEcho;
    return text;
  }

  function kindOf(from) {
    return from === "borrower" || from === "collector" || from === "system" ? from : "bot";
  }

  function nearBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < NEAR_BOTTOM_PX;
  }

  function scrollToEnd(force) {
    if (force || nearBottom()) ui.log.scrollTop = ui.log.scrollHeight;
  }

  function renderJoined() {
    const line = el("div", "notice-joined");
    line.setAttribute("role", "note");
    line.textContent = t().personJoined;
    ui.log.appendChild(line);
  }

  function setChipsDisabled(group, disabled) {
    for (const chip of group.querySelectorAll("button.chip")) chip.disabled = disabled;
  }

  function renderChips(buttons, active) {
    const group = el("div", "chips");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t().options);
    for (const button of buttons) {
      if (!button || typeof button.payload !== "string" || !button.payload) continue;
      const title = typeof button.title === "string" && button.title ? button.title : button.payload;
      const href = /^https?:\/\//i.test(button.payload) ? safeHref(button.payload) : null;
      if (href) {
        group.appendChild(link(href, title, "chip")); // a link button (a payment page): just open it
        continue;
      }
      const chip = el("button", "chip");
      chip.type = "button";
      chip.textContent = title;
      chip.disabled = !active;
      chip.addEventListener("click", () => pressButton(group, chip, button.payload, title));
      group.appendChild(chip);
    }
    return group.childElementCount ? group : null;
  }

  /**
   * Append one message. kind: bot | borrower | collector | system.
   * options.buttonsActive (default true): whether its buttons can still be pressed.
   */
  function renderMessage(kind, text, buttons, options) {
    const opts = options || {};
    const hasText = typeof text === "string" && text.length > 0;
    const image = typeof opts.image === "string" ? safeHref(opts.image) : null;
    const hasButtons = Array.isArray(buttons) && buttons.length > 0;
    if (!hasText && !hasButtons && !image) return null;

    if (kind === "collector" && state.lastSpeaker !== "collector") renderJoined();
    if (kind === "collector" || kind === "bot") state.lastSpeaker = kind;

    const item = el("div", "msg msg-" + kind);
    if (kind === "collector") {
      const label = el("p", "msg-label");
      label.textContent = t().collector;
      item.appendChild(label);
    }
    if (hasText || image) {
      const bubble = el("div", "bubble");
      if (hasText) appendText(bubble, kind === "borrower" ? borrowerText(text) : text, true);
      if (image) {
        if (hasText) bubble.appendChild(document.createTextNode("\n"));
        bubble.appendChild(link(image, t().image));
      }
      item.appendChild(bubble);
    }
    if (hasButtons) {
      const chips = renderChips(buttons, opts.buttonsActive !== false);
      if (chips) item.appendChild(chips);
    }
    ui.log.appendChild(item);
    return item;
  }

  function clearLog() {
    while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
    state.lastSpeaker = null;
  }

  function renderHistory(messages, quietly) {
    // Re-rendering after a reconnect must not read the whole chat out again.
    if (quietly) ui.log.setAttribute("aria-live", "off");
    clearLog();
    // Only the buttons after the borrower's last message can still be pressed.
    let lastBorrower = -1;
    messages.forEach((m, i) => {
      if (m && m.from === "borrower") lastBorrower = i;
    });
    messages.forEach((m, i) => {
      if (!m || typeof m !== "object") return;
      renderMessage(kindOf(m.from), m.text, m.buttons, { buttonsActive: i > lastBorrower });
    });
    scrollToEnd(true);
    if (quietly) window.setTimeout(() => ui.log.setAttribute("aria-live", "polite"), 0);
  }

  // ---- status lines ---------------------------------------------------------------------

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
  }

  function hideError() {
    ui.error.hidden = true;
    ui.error.textContent = "";
  }

  function setBusy(busy) {
    state.busy = busy;
    ui.send.disabled = busy;
    ui.human.disabled = busy;
    ui.language.disabled = busy;
    ui.typing.hidden = !busy;
    if (busy) scrollToEnd(true);
  }

  function setConnectionLost(lost) {
    state.connectionLost = lost;
    window.clearTimeout(state.lostTimer);
    if (!lost) {
      ui.connection.hidden = true;
      return;
    }
    // A blip (or leaving the page) should not flash the notice.
    state.lostTimer = window.setTimeout(() => {
      if (!state.connectionLost) return;
      ui.connection.textContent = t().connectionLost;
      ui.connection.hidden = false;
    }, LOST_NOTICE_DELAY_MS);
  }

  // ---- the API --------------------------------------------------------------------------

  class SendError extends Error {
    constructor(kind) {
      super(kind);
      this.kind = kind; // "unreachable" | "tooFast" | "rejected"
    }
  }

  function sendOnce(message, metadata, signal) {
    return fetch(API + "/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ sender: state.sender, message, metadata }),
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  }

  async function postMessage(message, metadata) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? window.setTimeout(() => controller.abort(), POST_TIMEOUT_MS) : null;
    const signal = controller ? controller.signal : undefined;
    try {
      let response;
      try {
        if (!state.sender) await openSession(); // the gateway was not reachable at the start
        response = await sendOnce(message, metadata, signal);
        if (response.status === 401) {
          // The session is over (or another tab started one): carry on in the current one.
          if (await openSession()) renderHistory([], true);
          response = await sendOnce(message, metadata, signal);
        }
      } catch (_) {
        throw new SendError("unreachable");
      }
      if (response.status === 429) throw new SendError("tooFast");
      if (response.status === 422 || response.status === 413) throw new SendError("rejected");
      if (!response.ok) throw new SendError(response.status >= 500 ? "unreachable" : "rejected");
      let body;
      try {
        body = await response.json();
      } catch (_) {
        throw new SendError("unreachable");
      }
      return Array.isArray(body) ? body : [];
    } finally {
      if (timer !== null) window.clearTimeout(timer);
    }
  }

  async function fetchHistory() {
    const get = () =>
      fetch(API + "/history", {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
    let response = await get();
    if (response.status === 401) {
      await openSession();
      response = await get();
    }
    if (!response.ok) throw new Error("history: HTTP " + response.status);
    const body = await response.json();
    return body && Array.isArray(body.messages) ? body.messages : [];
  }

  async function refreshHistory() {
    if (state.busy) {
      state.refreshAfterSend = true;
      return;
    }
    try {
      const messages = await fetchHistory();
      if (!state.busy) renderHistory(messages, true);
    } catch (_) {
      /* the chat stays as it is; the next reconnect tries again */
    }
  }

  /**
   * Send one message. options.echo: what the borrower's bubble shows (default: the message);
   * options.buttonTitle: sent as metadata.button_title (a button press);
   * options.language: metadata.language (default: the page's language). Resolves to true when
   * the gateway took it, false (with the error line shown) when it did not.
   */
  async function send(message, options) {
    const opts = options || {};
    if (state.busy) return false;
    setBusy(true);
    hideError();
    const echo = renderMessage("borrower", opts.echo || message, null);
    if (echo) echo.classList.add("pending");
    scrollToEnd(true);
    const metadata = { language: opts.language || state.language, message_id: messageId(message) };
    if (opts.buttonTitle) metadata.button_title = opts.buttonTitle;
    try {
      const replies = await postWithRetries(message, metadata);
      state.unsent = null;
      if (echo) echo.classList.remove("pending");
      for (const reply of replies) {
        if (reply && typeof reply === "object") {
          renderMessage("bot", reply.text, reply.buttons, { image: reply.image });
        }
      }
      scrollToEnd(true);
      return true;
    } catch (error) {
      if (echo) echo.remove();
      state.unsent = { message, id: metadata.message_id };
      const kind = error instanceof SendError ? error.kind : "unreachable";
      showError(t()[kind === "tooFast" ? "tooFast" : kind === "rejected" ? "rejected" : "notSent"]);
      return false;
    } finally {
      setBusy(false);
      if (state.refreshAfterSend) {
        state.refreshAfterSend = false;
        refreshHistory();
      }
    }
  }

  /** The id of a message: the one it had if it is what failed last, else a new one. */
  function messageId(message) {
    if (state.unsent && state.unsent.message === message) return state.unsent.id;
    const random = new Uint8Array(16);
    window.crypto.getRandomValues(random);
    return Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** postMessage, sent again with the same id while it fails on the way. */
  async function postWithRetries(message, metadata) {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await postMessage(message, metadata);
      } catch (error) {
        const unreachable = error instanceof SendError && error.kind === "unreachable";
        if (!unreachable || attempt >= RESEND_DELAYS_MS.length) throw error;
        await new Promise((resolve) => window.setTimeout(resolve, RESEND_DELAYS_MS[attempt]));
      }
    }
  }

  /** Send what is typed; on failure put it back, so nothing the borrower wrote is lost. */
  async function submitInput() {
    const raw = ui.input.value;
    const text = raw.trim();
    if (!text || state.busy) return;
    ui.input.value = "";
    autosize();
    const sent = await send(text);
    if (!sent) restoreInput(raw);
  }

  function restoreInput(text) {
    const typedSince = ui.input.value;
    ui.input.value = typedSince ? text + "\n" + typedSince : text;
    autosize();
  }

  async function pressButton(group, chip, payload, title) {
    if (state.busy) return;
    setChipsDisabled(group, true);
    chip.setAttribute("aria-pressed", "true");
    const sent = await send(payload, { echo: title, buttonTitle: title });
    if (!sent) {
      setChipsDisabled(group, false);
      chip.removeAttribute("aria-pressed");
    }
  }

  async function toggleLanguage() {
    if (state.busy) return;
    const previous = state.language;
    const next = previous === "zh" ? "en" : "zh";
    applyLanguage(next);
    const sent = await send("/language", { echo: STRINGS[next].languageEcho, language: next });
    if (sent) storageSet(LANGUAGE_KEY, next);
    else applyLanguage(previous);
  }

  // ---- pushed messages (SSE) ------------------------------------------------------------

  function connectEvents() {
    if (typeof window.EventSource !== "function") return;
    const source = new EventSource(API + "/events"); // the session cookie says which chat
    state.source = source;
    source.addEventListener("open", () => {
      const wasLost = state.connectionLost;
      state.retryMs = 1000;
      setConnectionLost(false);
      if (wasLost) refreshHistory(); // pick up what was pushed while we were away
    });
    source.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (!message || typeof message !== "object") return;
      const kind = message.from === "collector" || message.from === "bot" ? message.from : "system";
      const following = nearBottom(); // measured before the message makes the log taller
      if (renderMessage(kind, message.text, message.buttons, { image: message.image })) {
        scrollToEnd(following);
      }
    });
    source.addEventListener("error", () => {
      setConnectionLost(true);
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error, not a dropped connection): retry with backoff.
        // A 401 among them: the session is over, so open one (the same chat while it lasts).
        window.clearTimeout(state.retryTimer);
        state.retryTimer = window.setTimeout(() => {
          openSession()
            .then((changed) => {
              if (changed) refreshHistory();
            })
            .catch(() => {})
            .finally(connectEvents);
        }, state.retryMs);
        state.retryMs = Math.min(state.retryMs * 2, MAX_RETRY_MS);
      }
    });
  }

  // ---- wiring ---------------------------------------------------------------------------

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = ui.input.scrollHeight + "px";
  }

  async function start() {
    const startToken = takeStartToken(); // first: the token leaves the address bar at once
    const params = new URLSearchParams(window.location.search);
    ui.title = $("title");
    ui.log = $("log");
    ui.connection = $("connection");
    ui.typing = $("typing");
    ui.typingText = $("typing-text");
    ui.error = $("error");
    ui.form = $("composer");
    ui.input = $("input");
    ui.inputLabel = $("input-label");
    ui.send = $("send");
    ui.human = $("human");
    ui.language = $("language");
    ui.hint = $("hint");
    ui.input.setAttribute("aria-describedby", "hint");

    forgetOldSender();
    applyLanguage(pickLanguage(params));

    ui.form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitInput();
      ui.input.focus();
    });
    ui.input.addEventListener("keydown", (event) => {
      // Enter sends; Shift+Enter is a new line; Enter that confirms an IME (pinyin) choice is not.
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) {
        return;
      }
      event.preventDefault();
      submitInput();
    });
    ui.input.addEventListener("input", autosize);
    ui.human.addEventListener("click", () => send("/human", { echo: t().human }));
    ui.language.addEventListener("click", toggleLanguage);

    try {
      await openSession();
      renderHistory(await fetchHistory(), false);
    } catch (_) {
      showError(t().historyFailed);
    }
    connectEvents();

    if (startToken) {
      const message = "/start " + startToken;
      const sent = await send(message, { echo: t().linkEcho });
      if (!sent) restoreInput(message); // pressing Send tries again
    }
  }

  start();
})();
