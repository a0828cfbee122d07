// mloop dashboard: small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  var nodesEl = document.getElementById("nodes-data");
  if (!nodesEl) return;
  var nodes = JSON.parse(nodesEl.textContent);
  var artifacts = JSON.parse(document.getElementById("artifacts-data").textContent);
  var panel = document.getElementById("panel");
  var body = document.getElementById("panel-body");

  function esc(v) {
    return String(v === null || v === undefined ? "-" : v)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }
  function row(k, v) { return "<tr><th scope='row'>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>"; }
  function storage(uri) {
    var art = null;
    Object.keys(artifacts).forEach(function (id) { if (artifacts[id].uri === uri) art = artifacts[id]; });
    if (!art) return "";
    var s = art.s3 || art.storage || {};
    return " <span class='storage'>[encryption " + esc(s.encryption) + ", versioning " + esc(s.versioning) +
      ", public access " + esc(s.publicAccess) + (art.size !== undefined ? ", " + esc(art.size) + " B" : "") + "]</span>";
  }
  function io(title, items) {
    if (!items || !items.length) return "";
    return "<h3>" + title + "</h3><ul class='io'>" + items.map(function (i) {
      return "<li><b>" + esc(i.name) + "</b> <code>" + esc(i.uri) + "</code>" + storage(i.uri) + "</li>";
    }).join("") + "</ul>";
  }
  function tasks(items) {  // the inner tasks of a KFP loop / condition / sub-pipeline step
    if (!items || !items.length) return "";
    var run = panel.getAttribute("data-run") || "";
    return "<h3>Tasks</h3><table class='grid tasks'><thead><tr><th scope='col'>Task</th><th scope='col'>Status</th>" +
      "<th scope='col'>Elapsed (s)</th><th scope='col'>Outputs</th></tr></thead><tbody>" + items.map(function (t) {
        var href = "/ui/runs/" + encodeURIComponent(run) + "#step-" + encodeURIComponent(t.name);
        var outs = (t.outputs || []).map(function (o) {
          return esc(o.name) + " <code>" + esc(String(o.digest || "").slice(0, 12)) + "</code>";
        }).join(", ");
        return "<tr data-task='" + esc(t.name) + "'><td><a href='" + esc(href) + "'>" + esc(t.name) + "</a>" +
          (t.error || t.message ? "<br><span class='muted'>" + esc(t.error || t.message) + "</span>" : "") + "</td><td>" + esc(t.status) +
          "</td><td>" + esc(t.elapsedSec) + "</td><td>" + outs + "</td></tr>";
      }).join("") + "</tbody></table>";
  }
  function show(id) {
    var n = nodes[id];
    if (!n) return;
    var r = n.run || {};
    var html = "<h2>" + esc(n.id) + "</h2><table class='kv'>" + row("type", n.type) + row("status", r.status || "NotStarted") +
      row("start", r.startTime) + row("end", r.endTime) + row("elapsed (s)", r.elapsedSec) +
      row("attempts", r.attempts) + row("cached", r.cached ? "yes" + (r.cachedFrom ? " (from " + r.cachedFrom + ")" : "") : "no") +
      row("job", r.jobArn) + "</table>";
    var m = r.metrics || {};
    var keys = Object.keys(m);
    if (keys.length) html += "<h3>Metrics</h3><table class='kv'>" + keys.map(function (k) { return row(k, m[k]); }).join("") + "</table>";
    html += io("Inputs", n.inputs) + io("Outputs", n.outputs) + tasks(r.tasks);
    if (r.error) html += "<h3>Error</h3><pre>" + esc(r.error) + "</pre>";
    if (r.message) html += "<h3>Message</h3><pre>" + esc(r.message) + "</pre>";
    if (r.logs) html += "<h3>Logs</h3><pre class='logs'>" + esc(r.logs) + "</pre>";
    body.innerHTML = html;
    panel.hidden = false;
    document.querySelectorAll(".node.selected").forEach(function (el) { el.classList.remove("selected"); });
    var g = document.querySelector(".node[data-node='" + CSS.escape(id) + "']");
    if (g) g.classList.add("selected");
  }
  document.querySelectorAll(".node[data-node]").forEach(function (g) {
    g.addEventListener("click", function () { show(g.getAttribute("data-node")); });
    g.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); show(g.getAttribute("data-node")); }
    });
  });
  panel.querySelector("[data-close]").addEventListener("click", function () { panel.hidden = true; });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") panel.hidden = true; });
})();
