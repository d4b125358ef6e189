// The console's live parts, without a framework: the inbox re-fetches its queue when it
// changes (ETag), a chat appends new messages, waiting times tick. Everything else is plain
// forms, so the pages work without this file too.
(function () {
  "use strict";
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  var LIVE = { "X-Console-Live": "1" };

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    if (h) return zh ? h + "小时" + two(m) + "分" : h + " h " + two(m) + " min";
    if (m) return zh ? m + "分" + two(s) + "秒" : m + " min " + two(s) + " s";
    return zh ? s + "秒" : s + " s";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".waited[data-since]").forEach(function (el) {
      var waited = (now - Date.parse(el.dataset.since)) / 1000;
      el.textContent = duration(waited);
      var table = el.closest("table"), row = el.closest("tr");
      var sla = table ? Number(table.dataset.slaSeconds) : 0;
      if (row && sla) row.classList.toggle("over-sla", waited > sla);
    });
  }

  function refresh(region) {
    var etag = null;
    var every = Number(region.dataset.liveEvery) || 3000;
    function poll() {
      var headers = Object.assign({}, LIVE);
      if (etag) headers["If-None-Match"] = etag;
      fetch(region.dataset.liveSrc, { headers: headers, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); return null; }
          if (r.status !== 200) return null;
          etag = r.headers.get("ETag");
          return r.text();
        })
        .then(function (html) { if (html !== null && html !== undefined) { region.innerHTML = html; tick(); } })
        .catch(function () { /* offline for a moment: the next poll tries again */ })
        .finally(function () { setTimeout(poll, every); });
    }
    setTimeout(poll, every);
  }

  function follow(list) {
    var every = Number(list.dataset.liveEvery) || 2000;
    var status = document.getElementById("chat-status");
    var initial = status ? status.dataset.status : null;
    function last() {
      var items = list.querySelectorAll("li[data-id]");
      return items.length ? items[items.length - 1].dataset.id : "";
    }
    function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 80; }
    function poll() {
      var after = last();
      var url = list.dataset.liveAppend + (after ? "?after=" + encodeURIComponent(after) : "");
      fetch(url, { headers: LIVE, credentials: "same-origin" })
        .then(function (r) {
          if (r.status === 401 || r.status === 409) { window.location.reload(); return null; }
          var now = r.headers.get("X-Handoff-Status");
          var reply = document.querySelector("#reply textarea");
          if (initial && now && now !== initial && !(reply && reply.value)) {
            window.location.reload();
            return null;
          }
          return r.status === 200 ? r.text() : null;
        })
        .then(function (html) {
          if (!html) return;
          var stick = nearBottom();
          list.insertAdjacentHTML("beforeend", html);
          if (stick) list.scrollTop = list.scrollHeight;
        })
        .catch(function () { /* try again on the next poll */ })
        .finally(function () { setTimeout(poll, every); });
    }
    list.scrollTop = list.scrollHeight;
    setTimeout(poll, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-src]").forEach(refresh);
    document.querySelectorAll("[data-live-append]").forEach(follow);
    tick();
    setInterval(tick, 1000);
  });
})();
