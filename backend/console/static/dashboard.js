// The operations dashboard's charts, drawn with Chart.js (static/vendor/, installed by make
// setup) from the JSON the page carries. Every figure is also in the page's tables: without
// Chart.js or JavaScript nothing is lost but the pictures.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const labels = data.labels;
  const lang = document.documentElement.lang || "en";
  const pct = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const num = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  const colours = ["#1f5fbf", "#c0262d", "#1c7c3a", "#b65c00", "#6b3fa0", "#0f7c8c", "#8a8f98", "#d4a017", "#9c2f6e"];

  Chart.defaults.animation = false; // drawn once, at once (and the screenshots show it whole)
  Chart.defaults.maintainAspectRatio = false; // the .chart box sets the height
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.scales.category.ticks.maxRotation = 0; // level dates, thinned to fit

  const percentAxis = (extra) => Object.assign({
    beginAtZero: true, suggestedMax: 1, ticks: { callback: (v) => pct.format(v) },
  }, extra || {});
  const tooltip = (format) => ({
    callbacks: { label: (c) => `${c.dataset.label}: ${c.raw === null ? "–" : format(c.raw, c)}` },
  });
  const line = (label, values, colour, extra) => Object.assign({
    type: "line", label, data: values, borderColor: colour, backgroundColor: colour,
    spanGaps: true, pointRadius: values.length > 31 ? 0 : 2, tension: 0.2,
  }, extra || {});
  const bar = (label, values, colour, extra) => Object.assign({
    type: "bar", label, data: values, backgroundColor: colour,
  }, extra || {});

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  const days = data.days.map((d) => d.slice(5)); // MM-DD: the period is in the page's heading
  const c = data.conversations;
  draw("chart-conversations", {
    type: "line",
    data: {
      labels: days,
      datasets: [
        line(labels.contained, c.contained, colours[0]),
        line(labels.handed_off, c.handed_off, colours[1]),
        line(labels.wait_median, c.wait_median, colours[3], { yAxisID: "minutes", borderDash: [4, 3] }),
        line(labels.wait_p90, c.wait_p90, colours[4], { yAxisID: "minutes", borderDash: [2, 2] }),
      ],
    },
    options: {
      scales: {
        y: percentAxis(),
        minutes: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: labels.minutes } },
      },
      plugins: {
        tooltip: tooltip((v, ctx) => (ctx.dataset.yAxisID === "minutes" ? num.format(v) : pct.format(v))),
      },
    },
  });

  const p = data.promises;
  draw("chart-promises", {
    type: "line",
    data: {
      labels: days,
      datasets: [line(labels.promise_rate, p.promise_rate, colours[0]), line(labels.kept_rate, p.kept_rate, colours[2])],
    },
    options: { scales: { y: percentAxis() }, plugins: { tooltip: tooltip((v) => pct.format(v)) } },
  });

  data.amounts.forEach((a, i) => {
    const money = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
    draw(`chart-amounts-${i}`, {
      type: "bar",
      data: {
        labels: [labels.promised, labels.paid],
        datasets: [{ label: a.currency, data: [Number(a.promised), Number(a.paid)], backgroundColor: [colours[0], colours[2]] }],
      },
      options: {
        indexAxis: "y",
        plugins: {
          legend: { display: false },
          title: { display: true, text: a.currency },
          tooltip: { callbacks: { label: (ctx) => `${money.format(ctx.raw)} ${a.currency}` } },
        },
        scales: { x: { beginAtZero: true } },
      },
    });
  });

  const d = data.delinquency;
  draw("chart-delinquency", {
    type: "bar",
    data: {
      labels: [labels.cure_rate, labels.roll_forward_rate],
      datasets: d.groups.map((group, i) => bar(group, [d.cure_rate[i], d.roll_forward_rate[i]], colours[i])),
    },
    options: { scales: { y: percentAxis() }, plugins: { tooltip: tooltip((v) => pct.format(v)) } },
  });

  const r = data.reminders;
  draw("chart-reminders", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        bar(labels.sent, r.sent, colours[0], { stack: "sent" }),
        ...r.held.map((h, i) => bar(h.reason, h.counts, colours[(i + 3) % colours.length], { stack: "held" })),
        line(labels.opt_outs, r.opt_outs, colours[1]),
      ],
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });

  // Each arm's conversion rate: the 95% CI as a floating bar [low, high], the estimate a dot.
  data.experiments.forEach((e, i) => {
    const arms = e.arms;
    draw(`chart-experiment-${i}`, {
      type: "bar",
      data: {
        labels: arms.map((a) => a.label),
        datasets: [
          bar(labels.ci, arms.map((a) => (a.low === null ? null : [a.low, a.high])), "rgba(31, 95, 191, 0.25)", { barPercentage: 0.5 }),
          line(labels.rate, arms.map((a) => a.rate), colours[0], { showLine: false, pointRadius: 5 }),
        ],
      },
      options: {
        scales: { y: percentAxis({ suggestedMax: undefined }) },
        plugins: {
          tooltip: {
            callbacks: {
              label: (ctx) => (Array.isArray(ctx.raw)
                ? `${ctx.dataset.label}: ${pct.format(ctx.raw[0])} – ${pct.format(ctx.raw[1])}`
                : `${ctx.dataset.label}: ${ctx.raw === null ? "–" : pct.format(ctx.raw)}`),
            },
          },
        },
      },
    });
  });

  const n = data.nlu;
  draw("chart-nlu", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        line(labels.fallback_rate, n.fallback_rate, colours[1]),
        bar(labels.messages, n.messages, "rgba(102, 112, 133, 0.25)", { yAxisID: "count" }),
      ],
    },
    options: {
      scales: {
        y: percentAxis({ suggestedMax: undefined }),
        count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
      },
      plugins: { tooltip: tooltip((v, ctx) => (ctx.dataset.yAxisID === "count" ? num.format(v) : pct.format(v))) },
    },
  });
})();
