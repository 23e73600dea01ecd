// Tenure: progressive enhancement only. Every page works without this file.
(function () {
  "use strict";
  var pending = "";
  var go = { t: "/", c: "/contacts?stage=client", s: "/schedule" };

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) return;
    var key = ev.key;
    if (pending === "g" && go[key]) { window.location.href = go[key]; pending = ""; return; }
    if (pending === "n" && key === "c") { window.location.href = "/contacts/new"; pending = ""; return; }
    pending = "";
    if (key === "/") {
      var q = document.getElementById("q");
      if (q) { ev.preventDefault(); q.focus(); q.select(); }
    } else if (key === "l") {
      var box = document.getElementById("log-subject");
      if (box) { ev.preventDefault(); box.focus(); }
    } else if (key === "?") {
      var dlg = document.getElementById("shortcuts");
      if (dlg && dlg.showModal) dlg.showModal();
    } else if (key === "g" || key === "n") {
      pending = key;
      setTimeout(function () { pending = ""; }, 1200);
    }
  });

  // Inline actions: forms marked data-inline post in the background and the page updates
  // without a reload (the server answers the same page; we swap <main>).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute("data-inline") || !window.fetch) return;
    ev.preventDefault();
    var button = ev.submitter;
    var data = new FormData(form);
    if (button && button.name) data.append(button.name, button.value);
    form.setAttribute("aria-busy", "true");
    fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (res) {
      return res.text().then(function (html) { return { ok: res.ok || res.status === 422 || res.status === 409, html: html }; });
    }).then(function (r) {
      if (!r.ok) { form.submit(); return; }
      var doc = new DOMParser().parseFromString(r.html, "text/html");
      var fresh = doc.querySelector("main");
      var main = document.querySelector("main");
      if (fresh && main) { main.replaceWith(fresh); }
      var err = document.querySelector("[role=alert]");
      if (err) { err.scrollIntoView({ block: "center" }); }
    }).catch(function () { form.submit(); });
  });

  // "Load more" on the timeline appends the next page in place.
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest && ev.target.closest("a[data-more=timeline]");
    if (!link || !window.fetch) return;
    ev.preventDefault();
    fetch(link.href, { headers: { "X-Fragment": "timeline" }, credentials: "same-origin" })
      .then(function (res) { return res.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var list = document.getElementById("timeline-items");
        doc.querySelectorAll("#timeline-items > li").forEach(function (li) { list.appendChild(li); });
        var more = doc.querySelector("a[data-more=timeline]");
        if (more) { link.href = more.href; } else { link.parentNode.remove(); }
      });
  });
})();

// Copy buttons next to secrets shown once (without JavaScript the field can be selected).
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("button[data-copy]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else { document.execCommand("copy"); done(); }
  });
})();
