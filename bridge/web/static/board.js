/* The SMO board's behaviour: filter the gate matrix in place, draw charts from the
   tables beside them (the tables stay the accessible source of the numbers). No network. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-filter=matrix]");
  if (form) {
    var apply = function () {
      var want = {status: form.status.value, window: form.window.value, team: form.team.value};
      var rows = document.querySelectorAll("table.matrix tbody tr[data-status]");
      var shown = 0;
      rows.forEach(function (row) {
        var ok = (!want.status || row.dataset.status === want.status) &&
                 (!want.window || row.dataset.window === want.window) &&
                 (!want.team || row.dataset.team === want.team);
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      var count = document.querySelector("[data-count]");
      if (count) { count.textContent = String(shown); }
    };
    form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
    form.addEventListener("change", apply);
    apply();
  }
  if (typeof window.Chart === "undefined") { return; }
  // Okabe-Ito and Tol colours: told apart with colour-blindness, dark enough on white
  var palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000",
                 "#882255", "#117733", "#332288", "#999933", "#AA4499", "#44AA99", "#DDCC77"];
  var dashes = [[], [6, 3], [2, 2], [8, 3, 2, 3]];
  document.querySelectorAll("canvas[data-for]").forEach(function (canvas) {
    var table = document.getElementById(canvas.dataset.for);
    if (!table) { return; }
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    var limit = parseInt(table.dataset.series || String(heads.length), 10);
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var labels = rows.map(function (r) { return r.cells[0].textContent.trim(); });
    var kind = table.dataset.chart === "bar" ? "bar" : "line";
    var datasets = [];
    for (var col = 1; col < Math.min(limit, heads.length); col += 1) {
      var colour = palette[(col - 1) % palette.length];
      datasets.push({
        label: heads[col],
        data: rows.map(function (r) {
          var text = r.cells[col] ? r.cells[col].textContent.trim() : "";
          return text === "" ? null : Number(text);
        }),
        borderColor: colour, backgroundColor: colour, spanGaps: true, pointRadius: 2,
        borderDash: dashes[Math.floor((col - 1) / palette.length) % dashes.length]
      });
    }
    new window.Chart(canvas, {
      type: kind,
      data: {labels: labels, datasets: datasets},
      options: {animation: false, maintainAspectRatio: false, responsive: true,
                interaction: {mode: "index", intersect: false},
                scales: {y: {beginAtZero: true}},
                plugins: {legend: {position: "bottom", labels: {boxWidth: 12}}}}
    });
  });
}());
