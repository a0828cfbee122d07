// mloop inference app page: predict and feedback through the JSON API (no inline script: CSP).
"use strict";
const $ = (id) => document.getElementById(id);
let requestId = null;

function showError(body) {
  const el = $("error");
  el.textContent = (body.message || "request failed") + (body.hint ? " — " + body.hint : "");
  el.hidden = false;
}

async function post(url, data) {
  const res = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                body: JSON.stringify(data)});
  let body = {};
  try { body = await res.json(); } catch (e) { body = {message: res.statusText}; }
  return {ok: res.ok, body};
}

$("predict-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").hidden = true;
  const form = new FormData(event.target);
  const record = Object.fromEntries(form.entries());
  record.age = record.age === "" ? null : Number(record.age);
  $("predict").disabled = true;
  try {
    const {ok, body} = await post("api/predict", record);
    if (!ok) { $("result").hidden = true; showError(body); return; }
    requestId = body.request_id;
    $("probability").textContent = (body.probability * 100).toFixed(1) + " %";
    $("model").textContent = body.model ?? "?";
    $("version").textContent = body.model_version ?? "?";
    $("variant").textContent = body.variant ?? "?";
    $("latency").textContent = body.latency_ms.toFixed(1);
    $("request-id").textContent = requestId;
    const issues = body.input_issues || [];
    $("input-issues-list").textContent = issues.join(", ");
    $("input-issues").hidden = issues.length === 0;
    $("feedback-status").textContent = "";
    for (const b of [$("clicked"), $("not-clicked")]) b.disabled = !body.logged;
    $("result").hidden = false;
  } finally {
    $("predict").disabled = false;
  }
});

for (const button of [$("clicked"), $("not-clicked")]) {
  button.addEventListener("click", async () => {
    $("error").hidden = true;
    const clicked = button.dataset.clicked === "true";
    const {ok, body} = await post("api/feedback", {request_id: requestId, clicked});
    if (!ok) { showError(body); return; }
    $("feedback-status").textContent = "Recorded: " + (clicked ? "clicked" : "did not click");
    $("clicked").disabled = $("not-clicked").disabled = true;
  });
}
