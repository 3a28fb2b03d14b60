/* The numbers page's charts (Apache ECharts, vendored under static/workforce/vendor). */
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("wf-charts").textContent);
  if (!window.echarts) return;
  const zh = document.documentElement.lang.startsWith("zh");
  const t = (z, e) => (zh ? z : e);

  function bars(id, labels, series) {
    const node = document.getElementById(id);
    if (!node || !labels.length) return;
    const chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 32, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: labels, inverse: true },
      series: series.map((s) => ({ type: "bar", name: s.name, data: s.data })),
    });
    window.addEventListener("resize", () => chart.resize());
  }

  const c = data.by_community;
  bars("chart-community", c.map((r) => r.name), [
    { name: t("需求", "Asked"), data: c.map((r) => r.asked) },
    { name: t("已调配", "Allocated"), data: c.map((r) => r.allocated) },
    { name: t("已报到", "Reported"), data: c.map((r) => r.reported) },
  ]);
  const o = data.by_organ;
  bars("chart-organ", o.map((r) => r.organ), [
    { name: t("待确认", "Waiting"), data: o.map((r) => r.pending) },
    { name: t("已确认", "Confirmed"), data: o.map((r) => r.confirmed) },
  ]);
  const k = data.kinds;
  const node = document.getElementById("chart-kind");
  if (node && k.length) {
    const chart = echarts.init(node);
    chart.setOption({
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "65%"], data: k.map((r) => ({ name: r.label, value: r.n })) }],
    });
    window.addEventListener("resize", () => chart.resize());
  }
  document.body.dataset.charts = "ready";
})();
