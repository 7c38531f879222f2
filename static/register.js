// The manual register: "Set everyone not taken to Present" fills the rows still "not taken".
(function () {
  var button = document.querySelector("#register [data-fill]");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    document.querySelectorAll("#register select").forEach(function (select) {
      if (select.value === "") select.value = button.dataset.fill;
    });
  });
})();
