// Relief numbers: two bar charts from the figures the page carries (json_script).
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("relief-chart");
    if (!node || !window.echarts) return;
    var d = JSON.parse(node.textContent);
    var byCategory = document.getElementById("chart-category");
    var byArea = document.getElementById("chart-area");
    var grid = { left: 8, right: 8, top: 36, bottom: 8, containLabel: true };
    var charts = [];
    if (byCategory) {
      var c = echarts.init(byCategory, null, { renderer: "canvas" });
      c.setOption({
        legend: { top: 0 }, grid: grid, tooltip: { trigger: "axis" },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: d.categories, inverse: true },
        series: [
          { name: d.labels.registered, type: "bar", data: d.registered, itemStyle: { color: "#2e86c1" } },
          { name: d.labels.resolved, type: "bar", data: d.resolved, itemStyle: { color: "#1e7e34" } }
        ]
      });
      charts.push(c);
    }
    if (byArea) {
      var a = echarts.init(byArea, null, { renderer: "canvas" });
      a.setOption({
        legend: { top: 0 }, grid: grid, tooltip: { trigger: "axis" },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: d.areas, inverse: true },
        series: [
          { name: d.labels.open, type: "bar", data: d.open, itemStyle: { color: "#d35400" } },
          { name: d.labels.overdue, type: "bar", data: d.overdue, itemStyle: { color: "#c0392b" } }
        ]
      });
      charts.push(a);
    }
    window.addEventListener("resize", function () { charts.forEach(function (x) { x.resize(); }); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
