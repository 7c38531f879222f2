// Take attendance: photos from the phone's camera or the file chooser gathered into a list
// (thumbnail, "Retake", "Remove"), then one upload with a progress bar that survives a weak
// connection: a network error or a 5xx is retried after 2, 4 and 8 s with the same upload id
// (the server answers a retry of a stored upload with the same session, never twice the
// photos), then "Try again". Without JavaScript the form posts as a plain form.
// Its words come from Django's JavaScript catalogue (/jsi18n/, loaded before this file) in
// the page's language; English if it is missing.
(function () {
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  };
  var form = document.getElementById("class-photo-upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var chooser = document.getElementById("id_photos");
  var camera = document.getElementById("id_camera");
  var list = document.getElementById("shots");
  var box = document.getElementById("shots-box");
  var counter = document.getElementById("shot-count");
  var progressBox = document.getElementById("upload-progress");
  var bar = progressBox.querySelector("progress");
  var barText = progressBox.querySelector("span");
  var statusLine = document.getElementById("upload-status");
  var retryButton = document.getElementById("upload-retry");
  var submitButton = form.querySelector("button[type=submit]");
  var uploadId = form.querySelector("[name=upload_id]");

  // Photos are scaled down to this long side (JPEG quality 0.9) before upload; README
  // "Camera from the page" says why this keeps detection quality.
  var LONG_SIDE = 3000, QUALITY = 0.9;
  var RETRY_DELAYS = [2000, 4000, 8000];
  var shots = [];  // {file, item}
  var replacing = null;  // the shot "Retake" replaces

  function newUploadId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var hex = "";
    for (var i = 0; i < 32; i++) hex += Math.floor(Math.random() * 16).toString(16);
    return hex;
  }
  if (uploadId) uploadId.value = newUploadId();
  // The list holds the photos: the inputs are emptied after each choice, so a second shot
  // can be taken; the server says when no photo was given.
  [chooser, camera].forEach(function (input) { input.required = false; });

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.className = isError ? "message error" : "message";
    statusLine.hidden = !text;
  }

  function thumbnail(file, img) {
    if (!window.createImageBitmap) return;
    createImageBitmap(file, {imageOrientation: "from-image"}).then(function (bitmap) {
      var scale = 160 / Math.max(bitmap.width, bitmap.height);
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      img.src = canvas.toDataURL("image/jpeg", 0.8);  // the CSP allows data: images, not blob:
      img.hidden = false;
    }).catch(function () { /* a format the browser cannot show (HEIC): the name stays */ });
  }

  function render() {
    counter.textContent = shots.length;
    box.hidden = shots.length === 0;
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button secondary";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function addShot(file, replaced) {
    var item = document.createElement("li");
    var img = document.createElement("img");
    img.alt = interpolate(gettext("Preview of %(name)s"), {name: file.name}, true);
    img.hidden = true;
    img.className = "shot-preview";
    var name = document.createElement("span");
    name.textContent = file.name;
    var shot = {file: file, item: item};
    item.append(img, name,
      button(gettext("Retake"), function () { replacing = shot; camera.click(); }),
      button(gettext("Remove"), function () {
        shots.splice(shots.indexOf(shot), 1);
        item.remove();
        render();
      }));
    if (replaced) {
      shots[shots.indexOf(replaced)] = shot;
      list.replaceChild(item, replaced.item);
    } else {
      shots.push(shot);
      list.appendChild(item);
    }
    thumbnail(file, img);
    render();
  }

  [chooser, camera].forEach(function (input) {
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file, i) {
        addShot(file, i === 0 && replacing && shots.indexOf(replacing) >= 0 ? replacing : null);
      });
      replacing = null;
      input.value = "";
      say("");
    });
  });

  // A JPEG or PNG longer than LONG_SIDE as a JPEG of that long side; anything else as it is.
  function scaled(file) {
    if (!window.createImageBitmap || !/^image\/(jpeg|png)$/.test(file.type)) return Promise.resolve(file);
    return createImageBitmap(file, {imageOrientation: "from-image"}).then(function (bitmap) {
      var scale = LONG_SIDE / Math.max(bitmap.width, bitmap.height);
      if (scale >= 1) return file;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", {type: "image/jpeg"}) : file);
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; });
  }

  var prepared = null;  // the FormData of the upload in progress, kept for its retries

  function send(attempt) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    progressBox.hidden = false;
    bar.value = 0;
    barText.textContent = gettext("Uploading…");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      bar.value = Math.round(100 * event.loaded / event.total);
      barText.textContent = interpolate(gettext("Uploading… %(percent)s"), {percent: bar.value + " %"}, true);
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 500) return failed(attempt, serverSays(xhr) || interpolate(gettext("the server answered with an error (%(status)s)"), {status: xhr.status}, true));
      var landed = xhr.responseURL && xhr.responseURL.split("#")[0] !== window.location.href.split("#")[0];
      if (xhr.status < 400 && landed) {
        barText.textContent = gettext("Uploaded.");
        window.location.assign(xhr.responseURL);
        return;
      }
      refused(xhr.responseText, xhr.status);
    });
    xhr.addEventListener("error", function () { failed(attempt, gettext("the connection was lost")); });
    xhr.addEventListener("timeout", function () { failed(attempt, gettext("the connection timed out")); });
    xhr.send(prepared);
  }

  // A 503 page of ours says why (the job queue or the photo store is down; nothing was saved).
  function serverSays(xhr) {
    if (!/text\/html/.test(xhr.getResponseHeader("Content-Type") || "")) return "";
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var error = page.querySelector("main .errorlist.nonfield li");
    return error ? interpolate(gettext("the server answered (%(status)s): %(message)s"),
                               {status: xhr.status, message: error.textContent.trim().replace(/[.。]$/, "")}, true) : "";
  }

  function failed(attempt, why) {
    progressBox.hidden = true;
    if (attempt < RETRY_DELAYS.length) {
      var delay = RETRY_DELAYS[attempt];
      say(interpolate(gettext("Not uploaded yet: %(why)s. Trying again in %(seconds)s s (%(attempt)s of %(attempts)s)…"),
               {why: why, seconds: delay / 1000, attempt: attempt + 1, attempts: RETRY_DELAYS.length}, true), true);
      setTimeout(function () { send(attempt + 1); }, delay);
      return;
    }
    say(interpolate(gettext("The photos were not uploaded: %(why)s. They are still here: check the connection, then Try again."),
             {why: why}, true), true);
    retryButton.hidden = false;
    submitButton.disabled = false;
  }

  // The form refused (e.g. no photo, a bad date): show the page's own messages; the photos stay.
  function refused(html, status) {
    progressBox.hidden = true;
    submitButton.disabled = false;
    prepared = null;
    var page = new DOMParser().parseFromString(html, "text/html");
    // Django's form puts a field's errors just before the paragraph holding its label.
    var texts = Array.prototype.map.call(page.querySelectorAll("main .errorlist, main .message.error"), function (e) {
      var next = e.nextElementSibling, label = next && next.tagName === "P" && next.querySelector("label");
      var text = e.classList.contains("errorlist")
        ? Array.prototype.map.call(e.querySelectorAll("li"), function (li) { return li.textContent.trim(); }).join(" ")
        : e.textContent.trim();
      return (label && !e.classList.contains("nonfield") ? label.textContent.trim().replace(/[:：]$/, "") + ": " : "") + text;
    });
    say(interpolate(gettext("Not uploaded (%(status)s): %(why)s The photos are still here."),
             {status: status, why: texts.join(" ") || gettext("the page refused the upload.")}, true), true);
  }

  retryButton.addEventListener("click", function () {
    retryButton.hidden = true;
    submitButton.disabled = true;
    say("");
    send(0);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (submitButton.disabled) return;
    submitButton.disabled = true;
    retryButton.hidden = true;
    say(shots.length ? gettext("Preparing the photos…") : "");
    Promise.all(shots.map(function (shot) { return scaled(shot.file); })).then(function (files) {
      prepared = new FormData(form);
      prepared.delete("photos");
      files.forEach(function (file) { prepared.append("photos", file, file.name); });
      say("");
      send(0);
    });
  });
})();
