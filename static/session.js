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

// The marked photo (issue 18): a tap on a face's numbered marker, or on its entry in the
// list, opens that face's decision in place and highlights the marker and the entry.
(function () {
  function select(faceId, scroll, open) {
    var entry = document.getElementById("photo-face-" + faceId);
    if (!entry) return;
    document.querySelectorAll(".face-list > li.selected, .marked-photo .face.selected").forEach(function (e) {
      e.classList.remove("selected");
    });
    entry.classList.add("selected");
    var marker = document.querySelector('.marked-photo .face[data-face="' + faceId + '"]');
    if (marker) marker.classList.add("selected");
    var details = entry.querySelector("details.face-decision");
    if (details && open) details.open = true;
    if (scroll) entry.scrollIntoView({block: "nearest"});
  }
  document.querySelectorAll(".marked-photo .face[data-face]").forEach(function (marker) {
    marker.addEventListener("click", function (event) {
      event.preventDefault();
      select(marker.dataset.face, true, true);
      history.replaceState(null, "", "#photo-face-" + marker.dataset.face);
    });
  });
  document.querySelectorAll(".face-list > li").forEach(function (entry) {
    entry.querySelector("summary").addEventListener("click", function () {
      select(entry.id.replace("photo-face-", ""), false, false);  // the summary opens it
    });
  });
  // Back from an answer (…#photo-face-12): that face's entry is shown open (its answer, Undo), highlighted.
  var match = /^#photo-face-(\d+)$/.exec(window.location.hash);
  if (match) select(match[1], true, true);
})();
