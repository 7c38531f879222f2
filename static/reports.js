// Report charts (Chart.js, vendored in static/vendor/). The figures come from the page's
// json_script blocks; each chart has a table with the same figures beside or below it.
(function () {
  if (typeof window.Chart === "undefined") return;

  function data(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  var rate = data("rate-chart-data");
  var rateCanvas = document.getElementById("rate-chart");
  if (rate && rateCanvas && rate.labels.length) {
    new window.Chart(rateCanvas, {
      type: "line",
      data: {
        labels: rate.labels,
        datasets: [
          {label: "Attendance rate (%)", data: rate.rates, borderColor: "#1f6feb", backgroundColor: "#1f6feb",
           spanGaps: true, tension: 0.2},
          {label: "Threshold (" + rate.threshold + "%)", data: rate.labels.map(function () { return rate.threshold; }),
           borderColor: "#b42318", borderDash: [6, 4], pointRadius: 0, fill: false}
        ]
      },
      options: {
        maintainAspectRatio: false,
        scales: {y: {min: 0, max: 100, title: {display: true, text: "%"}}}
      }
    });
  }

  var mix = data("mix-chart-data");
  var mixCanvas = document.getElementById("mix-chart");
  if (mix && mixCanvas) {
    // Shades of green for codes counting as present, of red/grey for those counting as absent.
    var present = ["#1a7f37", "#4ac26b", "#8ddb8c", "#2da44e"];
    var absent = ["#b42318", "#9a6700", "#6e7781", "#cf222e"];
    var used = {present: 0, absent: 0};
    var colours = mix.counts_as.map(function (kind) {
      var palette = kind === "present" ? present : absent;
      var colour = palette[used[kind] % palette.length];
      used[kind] += 1;
      return colour;
    });
    new window.Chart(mixCanvas, {
      type: "doughnut",
      data: {labels: mix.labels, datasets: [{label: "Sessions", data: mix.counts, backgroundColor: colours}]},
      options: {maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}}
    });
  }
})();
