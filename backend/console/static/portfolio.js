// The Portfolio page's charts, drawn with Chart.js (static/vendor/, installed by make setup)
// from the JSON the page carries. Every figure is also in the page's tables: without Chart.js
// or JavaScript nothing is lost but the pictures.
(function () {
  "use strict";
  const source = document.getElementById("portfolio-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const labels = data.labels;
  const lang = document.documentElement.lang || "en";
  const pct = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const num = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  // current → 180+: green through amber to dark red, in the buckets' order.
  const bucketColours = ["#1c7c3a", "#d4a017", "#e07b00", "#c0262d", "#8e1b20", "#4a0d10"];

  Chart.defaults.animation = false; // drawn once, at once (and the screenshots show it whole)
  Chart.defaults.maintainAspectRatio = false; // the .chart box sets the height
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.scales.category.ticks.maxRotation = 0;

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  const stacked = (values, axisTitle, format) => ({
    type: "bar",
    data: {
      labels: data.days,
      datasets: data.buckets.map((bucket, i) => ({
        label: bucket, data: values[i], backgroundColor: bucketColours[i], stack: "buckets",
      })),
    },
    options: {
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: axisTitle }, ticks: { callback: (v) => num.format(v) } },
      },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${format(c.raw)}` } } },
    },
  });

  draw("chart-buckets", stacked(data.loans, labels.loans, (v) => num.format(v)));

  // Outstanding amounts: one chart per currency (amounts are never added across currencies).
  data.outstanding.forEach((o, i) => {
    const values = o.values.map((series) => series.map(Number));
    const title = `${labels.outstanding} (${o.currency})`;
    draw(`chart-outstanding-${i}`, stacked(values, title, (v) => `${num.format(v)} ${o.currency}`));
  });

  // Vintage curves: one chart per product, one line per disbursement month; colours run
  // around the hue circle from the oldest vintage to the newest.
  data.vintages.forEach((p, i) => {
    const n = p.lines.length;
    draw(`chart-vintage-${i}`, {
      type: "line",
      data: {
        labels: p.months_on_book,
        datasets: p.lines.map((line, k) => {
          const colour = `hsl(${Math.round((k * 300) / Math.max(n - 1, 1))} 65% 42%)`;
          return {
            label: line.label, data: line.shares, borderColor: colour, backgroundColor: colour,
            spanGaps: false, pointRadius: 2, tension: 0, // straight: a curve would show shares never counted
          };
        }),
      },
      options: {
        scales: {
          x: { title: { display: true, text: labels.month_on_book } },
          y: { beginAtZero: true, suggestedMax: 0.2, title: { display: true, text: labels.share_30 }, ticks: { callback: (v) => pct.format(v) } },
        },
        plugins: {
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.raw === null ? "–" : pct.format(c.raw)}` } },
        },
      },
    });
  });
})();
