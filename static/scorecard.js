/* The few behaviours every page shares: the phone's menu button, one open navigation group at a time,
   and wide tables that scroll in their own box reachable by keyboard. Pages work without it. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var nav = document.querySelector("nav.top");
    var toggle = document.getElementById("nav-toggle");
    if (nav && toggle) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    var groups = document.querySelectorAll("nav.top details.group");
    groups.forEach(function (g) {
      g.addEventListener("toggle", function () {
        if (!g.open) { return; }
        groups.forEach(function (other) { if (other !== g) { other.open = false; } });
      });
    });
    document.addEventListener("click", function (e) {
      if (!e.target.closest || e.target.closest("nav.top details.group")) { return; }
      groups.forEach(function (g) { g.open = false; });
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { groups.forEach(function (g) { g.open = false; }); }
    });
    // A table wider than its box scrolls inside it; make it focusable so a keyboard can scroll it too.
    function markScrolling() {
      document.querySelectorAll("main table").forEach(function (t) {
        if (t.scrollWidth > t.clientWidth + 1) {
          t.setAttribute("tabindex", "0");
          if (!t.hasAttribute("aria-label") && !t.querySelector("caption")) {
            var h = t.previousElementSibling;
            while (h && !/^H[1-4]$/.test(h.tagName)) { h = h.previousElementSibling; }
            if (h) { t.setAttribute("aria-label", h.textContent.trim()); }
          }
        } else if (t.getAttribute("tabindex") === "0") {
          t.removeAttribute("tabindex");
        }
      });
    }
    markScrolling();
    window.addEventListener("resize", markScrolling);
  });
})();
/* The count beside "To do": fetched after the page so that no page pays for it. */
(function () {
  "use strict";
  var link = document.getElementById("nav-todo");
  if (!link || link.querySelector(".badge") || !window.fetch) { return; }
  fetch(link.getAttribute("href") + "todo/count/", {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || !data.count) { return; }
      var badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = String(data.count);
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
      var toggle = document.getElementById("nav-toggle");
      if (toggle && !toggle.querySelector(".badge")) { toggle.appendChild(badge.cloneNode(true)); }
    })
    .catch(function () {});
})();
/* A button whose step cannot be undone asks to confirm first (data-confirm: what will happen); the page
   says the same in words, so nothing depends on this. */
document.addEventListener("submit", function (e) {
  "use strict";
  var button = e.submitter;
  if (button && button.dataset && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    e.preventDefault();
  }
});
/* Behaviours that pages ask for by a data- attribute, kept here rather than inline so that the
   Content-Security-Policy can forbid inline scripts (issue 11). */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    // The language menu switches at once (its button shows only without JavaScript).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // A "Print" button.
    // A form with a relationship choice (the 360 rater form): show only the fields of the chosen
    // relationship — data-when="customer" for a customer's, data-unless="customer" for a colleague's.
    document.querySelectorAll("form select[name=relationship]").forEach(function (select) {
      var form = select.form;
      function show() {
        form.querySelectorAll("[data-when], [data-unless]").forEach(function (input) {
          var field = input.closest(".field") || input;
          var wanted = input.hasAttribute("data-when")
            ? input.getAttribute("data-when") === select.value
            : input.getAttribute("data-unless") !== select.value;
          field.hidden = !wanted;
        });
      }
      select.addEventListener("change", show);
      show();
    });
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    // Live totals of weights per group; the server checks them again (the page works without this).
    document.querySelectorAll("[data-sum-group]").forEach(function (group) {
      var out = group.querySelector("[data-sum]");
      if (!out) { return; }
      function update() {
        var total = 0;
        group.querySelectorAll("[data-weight]").forEach(function (i) { total += parseFloat(i.value) || 0; });
        out.textContent = Math.round(total * 1000) / 1000;
        out.className = Math.abs(total - 100) < 1e-6 ? "ok" : "off";
      }
      group.addEventListener("input", update);
      update();
    });
    // While an export waits or renders, fetch its row every 2 s and put it in place; a finished row
    // comes back without data-progress-url, which ends its polling. Without JavaScript the page reloads itself.
    if (!document.querySelector("tr[data-progress-url]") || !window.fetch) { return; }
    function poll() {
      var rows = document.querySelectorAll("tr[data-progress-url]");
      if (!rows.length) {
        var note = document.querySelector(".export-refresh");
        if (note) { note.hidden = true; }
        return;
      }
      Promise.all(Array.prototype.map.call(rows, function (row) {
        return fetch(row.getAttribute("data-progress-url"), {credentials: "same-origin"})
          .then(function (response) {
            if (!response.ok) { row.removeAttribute("data-progress-url"); return null; }
            return response.text();
          })
          .then(function (html) { if (html) { row.outerHTML = html; } })
          .catch(function () { /* offline for a moment: try again next time */ });
      })).then(function () { setTimeout(poll, 2000); });
    }
    setTimeout(poll, 2000);
  });
})();
