// Polls the session's processing status and reloads the page when every photo is finished.
(function () {
  var progress = document.getElementById("progress");
  if (!progress) return;
  var url = progress.dataset.statusUrl;
  function poll() {
    fetch(url, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.finished) { window.location.reload(); } else { setTimeout(poll, 2000); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1500);
})();
