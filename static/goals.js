/* Goals pages: progressive help only; every page works without it (the server checks everything again). */
(function () {
  "use strict";

  // Objective form: re-run the SMART check while the objective is written ("Check (SMART)" does it without JS),
  // and refresh the parent objectives when the owner or the period changes.
  function objectiveForm(form) {
    var slot = document.getElementById("smart-slot");
    var timer = null;
    if (slot && form.dataset.smartUrl) {
      form.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          fetch(form.dataset.smartUrl, {method: "POST", body: new FormData(form), credentials: "same-origin"})
            .then(function (r) { return r.ok ? r.text() : null; })
            .then(function (html) { if (html) { slot.innerHTML = html; } });
        }, 400);
      });
    }
    var parent = form.querySelector("select[name=parent]");
    if (!parent || !form.dataset.parentsUrl) { return; }
    function refreshParents() {
      var query = new URLSearchParams();
      ["owner", "period_start", "period_end"].forEach(function (name) {
        var field = form.elements[name];
        if (field) { query.set(name, field.value); }
      });
      query.set("parent", parent.value);
      fetch(form.dataset.parentsUrl + "?" + query.toString(), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { parent.innerHTML = html; } });
    }
    ["owner", "period_start", "period_end"].forEach(function (name) {
      var field = form.elements[name];
      if (field) { field.addEventListener("change", refreshParents); }
    });
  }

  // Contract form: the live total of the included weights.
  function weightSum(group) {
    var out = group.querySelector("[data-sum]");
    function update() {
      var total = 0;
      group.querySelectorAll("tbody tr").forEach(function (row) {
        var box = row.querySelector("[data-include]"), w = row.querySelector("[data-weight]");
        if (box && box.checked && w) { total += parseFloat(w.value) || 0; }
      });
      out.textContent = Math.round(total * 1000) / 1000;
      out.className = Math.abs(total - 100) < 1e-6 ? "ok" : "off";
    }
    group.addEventListener("input", update);
    group.addEventListener("change", update);
    update();
  }

  // Cascade tree: "Open all" / "Close all" for the branches.
  function treeButtons(bar) {
    var tree = document.querySelector(bar.dataset.treeFor);
    if (!tree) { return; }
    bar.hidden = false;
    bar.querySelectorAll("button[data-open]").forEach(function (button) {
      button.addEventListener("click", function () {
        var open = button.dataset.open === "1";
        tree.querySelectorAll("details").forEach(function (d) { d.open = open; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("objective-form");
    if (form) { objectiveForm(form); }
    document.querySelectorAll("[data-sum-group]").forEach(weightSum);
    document.querySelectorAll("[data-tree-for]").forEach(treeButtons);
  });
})();
