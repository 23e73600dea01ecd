// Tenure imports: while an import runs, poll its status every 2 s and show the progress;
// reload once it is finished so the report appears. Without this file, the "Refresh" link.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box || box.getAttribute("data-finished") === "true" || !window.fetch) return;
  var url = box.getAttribute("data-status-url");

  function show(state) {
    var rows = document.getElementById("import-rows");
    var status = document.getElementById("import-state");
    var bar = document.getElementById("import-progress");
    if (rows) rows.textContent = String(state.rows_done);
    if (status) status.textContent = state.status;
    if (bar) bar.value = state.rows_done;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (state) {
        if (!state) return;
        show(state);
        if (state.finished) { window.location.reload(); return; }
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }

  setTimeout(poll, 2000);
})();
