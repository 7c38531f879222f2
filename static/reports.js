// Report charts (Chart.js, vendored in static/vendor/). The figures come from the page's
// json_script blocks; each chart has a table with the same figures beside or below it.
// Words from Django's JavaScript catalogue (/jsi18n/), dates in the page's language.
(function () {
  if (typeof window.Chart === "undefined") return;
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  };

  // "2026-12-02" as the page's language writes a date ("2 Dec 2026", "2026年12月2日").
  function localDate(iso) {
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined,
        {day: "numeric", month: "short", year: "numeric", timeZone: "UTC"}).format(new Date(iso + "T00:00:00Z"));
    } catch (error) {
      return iso;
    }
  }

  function data(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  // The threshold: a dashed line across the whole plot at the threshold rate, drawn here
  // rather than as a line through data points, so it shows with a single session date too.
  // Its legend entry is the "threshold" dataset (no points); hiding that hides the line.
  var thresholdLine = {
    id: "thresholdLine",
    afterDatasetsDraw: function (chart) {
      var index = chart.data.datasets.findIndex(function (d) { return d.thresholdValue !== undefined; });
      if (index < 0 || !chart.isDatasetVisible(index)) return;
      var dataset = chart.data.datasets[index];
      var y = chart.scales.y.getPixelForValue(dataset.thresholdValue);
      var area = chart.chartArea;
      var context = chart.ctx;
      context.save();
      context.strokeStyle = dataset.borderColor;
      context.lineWidth = 2;
      context.setLineDash(dataset.borderDash);
      context.beginPath();
      context.moveTo(area.left, y);
      context.lineTo(area.right, y);
      context.stroke();
      context.restore();
    }
  };

  var rate = data("rate-chart-data");
  var rateCanvas = document.getElementById("rate-chart");
  if (rate && rateCanvas && rate.labels.length) {
    var single = rate.labels.length === 1;
    new window.Chart(rateCanvas, {
      type: "line",
      data: {
        labels: rate.labels.map(localDate),
        datasets: [
          // Straight segments (tension 0): a smoothed curve suggests rates between sessions.
          {label: gettext("Attendance rate (%)"), data: rate.rates, borderColor: "#1f6feb", backgroundColor: "#1f6feb",
           spanGaps: true, tension: 0, pointRadius: single ? 6 : 3},
          {label: interpolate(gettext("Threshold (%(threshold)s%)"), {threshold: rate.threshold}, true), data: [], thresholdValue: rate.threshold,
           borderColor: "#b42318", backgroundColor: "#b42318", borderDash: [6, 4], pointRadius: 0, fill: false}
        ]
      },
      plugins: [thresholdLine],
      options: {
        maintainAspectRatio: false,
        // offset: each date in the middle of its slot, so a single date sits in the centre.
        scales: {x: {offset: true}, y: {min: 0, max: 100, title: {display: true, text: "%"}}}
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
      data: {labels: mix.labels, datasets: [{label: gettext("Sessions"), data: mix.counts, backgroundColor: colours}]},
      options: {maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}}
    });
  }
})();
