// The status page, GET /_emulator/ui: one self-contained HTML document (inline CSS and script, no
// external assets) that polls the emulator's own JSON endpoints every two seconds: /_emulator/state
// (clusters, pools, operations), /_emulator/requests (the journal, with its filters) and
// /_emulator/faults (listed, added through a form, removed); each cluster's kubeconfigs download from
// /_emulator/clusters/{subscription}/{group}/{name}/kubeconfig. A module of its own, loaded on the
// first request for the page, so that the bundle's start-up does not parse it. The script builds
// every element with textContent: names and messages from requests are never read as HTML.

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aks-emulator status</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: light dark; --line: #8884; --muted: #888; --ok: #2a7d2a; --busy: #b07400; --bad: #c0392b; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 2rem; }
  header { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; padding: .8rem 0; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.2rem; margin: 0; }
  .muted { color: var(--muted); }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 600; font-size: .85rem; }
  td.nowrap { white-space: nowrap; }
  td.path { font-family: ui-monospace, monospace; font-size: .8rem; word-break: break-all; }
  tr.pool td:first-child { padding-left: 1.5rem; }
  .state-Succeeded, .state-Running { color: var(--ok); }
  .state-Failed, .state-Canceled, .state-Stopped, .status-error { color: var(--bad); }
  .state-Creating, .state-Updating, .state-Deleting, .state-Starting, .state-Stopping, .state-Upgrading, .state-Scaling, .state-InProgress { color: var(--busy); }
  form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: .5rem 0; }
  label { display: flex; flex-direction: column; font-size: .8rem; gap: .1rem; }
  input, select, button { font: inherit; }
  input[type=number] { width: 6rem; }
  .empty { color: var(--muted); font-style: italic; }
  #error { color: var(--bad); }
</style>
</head>
<body>
<header>
  <h1>aks-emulator</h1>
  <span id="mode" class="muted"></span>
  <span id="updated" class="muted"></span>
  <label><span><input type="checkbox" id="paused"> pause updates</span></label>
  <span id="error" role="alert"></span>
</header>

<section id="clusters">
  <h2>Clusters <span id="cluster-count" class="muted"></span></h2>
  <table>
    <thead><tr><th>Cluster / pool</th><th>Subscription</th><th>Resource group</th><th>Location / VM size</th><th>Version</th><th>Nodes</th><th>Provisioning</th><th>Power</th><th>Kubeconfig</th></tr></thead>
    <tbody id="cluster-rows"></tbody>
  </table>
  <p id="kubeconfig-error" class="status-error" role="alert"></p>
</section>

<section id="operations">
  <h2>Operations in progress</h2>
  <table>
    <thead><tr><th>Action</th><th>Resource</th><th>Status</th><th>Started</th></tr></thead>
    <tbody id="running-rows"></tbody>
  </table>
  <h2>Recently finished</h2>
  <table>
    <thead><tr><th>Action</th><th>Resource</th><th>Status</th><th>Started</th><th>Ended</th><th>Error</th></tr></thead>
    <tbody id="finished-rows"></tbody>
  </table>
</section>

<section id="faults">
  <h2>Faults</h2>
  <table>
    <thead><tr><th>Id</th><th>Match</th><th>Does</th><th>Fired</th><th></th></tr></thead>
    <tbody id="fault-rows"></tbody>
  </table>
  <form id="fault-form">
    <label>operationId <input name="operationId" placeholder="ManagedClusters_Get"></label>
    <label>method <select name="method"><option value="">any</option><option>GET</option><option>PUT</option><option>PATCH</option><option>POST</option><option>DELETE</option><option>HEAD</option></select></label>
    <label>resourceId glob <input name="resourceId" placeholder="**/managedClusters/aks1"></label>
    <label>times <input name="times" type="number" min="1"></label>
    <label>does <select name="action">
      <option value="error">answer an error</option>
      <option value="failOperation">fail the operation</option>
      <option value="delayMs">delay the answer</option>
      <option value="operationDelayMs">delay the operation</option>
      <option value="drop">drop the connection</option>
    </select></label>
    <label>status <input name="status" type="number" value="429" min="400" max="599"></label>
    <label>code <input name="code" value="TooManyRequests"></label>
    <label>message <input name="message" placeholder="(default)"></label>
    <label>retryAfter s <input name="retryAfter" type="number" min="0"></label>
    <label>delay ms <input name="delay" type="number" min="0" value="1000"></label>
    <button type="submit">Add fault</button>
    <button type="button" id="clear-faults">Remove all</button>
  </form>
  <p id="fault-result" role="status"></p>
</section>

<section id="journal">
  <h2>Requests <span class="muted">(newest first)</span></h2>
  <form id="journal-filter">
    <label>method <select name="method"><option value="">any</option><option>GET</option><option>PUT</option><option>PATCH</option><option>POST</option><option>DELETE</option><option>HEAD</option></select></label>
    <label>status <input name="status" type="number" min="100" max="599"></label>
    <label>operationId <input name="operationId" placeholder="ManagedClusters_CreateOrUpdate"></label>
  </form>
  <table>
    <thead><tr><th>Time</th><th>Method</th><th>Path</th><th>operationId</th><th>api-version</th><th>Status</th><th>ms</th></tr></thead>
    <tbody id="journal-rows"></tbody>
  </table>
</section>

<script>
"use strict";
var POLL_MS = 2000;

function el(tag, props, children) {
  var node = document.createElement(tag);
  if (props) for (var key in props) {
    if (key === "text") node.textContent = props[key];
    else if (key === "className") node.className = props[key];
    else if (key.slice(0, 5) === "data-") node.setAttribute(key, props[key]);
    else node[key] = props[key];
  }
  (children || []).forEach(function (child) { node.appendChild(typeof child === "string" ? document.createTextNode(child) : child); });
  return node;
}
function cell(text, className) { return el("td", { text: text === undefined || text === null ? "" : String(text), className: className || "" }); }
function stateCell(state) { return cell(state, state ? "state-" + state : ""); }
function time(iso) { return iso ? new Date(iso).toLocaleTimeString() : ""; }
function fill(id, rows, columns, emptyText) {
  var body = document.getElementById(id);
  body.replaceChildren.apply(body, rows.length ? rows : [el("tr", null, [el("td", { colSpan: columns, className: "empty", text: emptyText })])]);
}
function getJson(url, options) {
  return fetch(url, options).then(function (response) {
    return response.text().then(function (text) {
      var body = text ? JSON.parse(text) : undefined;
      if (!response.ok) throw new Error((body && body.error && body.error.message) || response.status + " " + response.statusText);
      return body;
    });
  });
}

function kubeconfigButton(cluster, kind) {
  var button = el("button", { type: "button", className: "kubeconfig", text: kind, "data-kind": kind });
  button.addEventListener("click", function () { downloadKubeconfig(cluster, kind); });
  return button;
}
function downloadKubeconfig(cluster, kind) {
  var url = "/_emulator/clusters/" + [cluster.subscriptionId, cluster.resourceGroup, cluster.name].map(encodeURIComponent).join("/") + "/kubeconfig?kind=" + kind;
  var message = document.getElementById("kubeconfig-error");
  message.textContent = "";
  fetch(url).then(function (response) {
    if (!response.ok) return response.json().then(function (body) { throw new Error(body.error ? body.error.message : response.statusText); });
    return response.blob().then(function (blob) {
      var link = el("a", { href: URL.createObjectURL(blob), download: cluster.name + "-" + kind + ".kubeconfig" });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
    });
  }).catch(function (error) { message.textContent = cluster.name + " (" + kind + "): " + error.message; });
}

function renderState(state) {
  document.getElementById("mode").textContent = state.mode + " mode" + (state.strict ? ", strict" : "");
  document.getElementById("cluster-count").textContent = "(" + state.clustersTotal + ")";
  var rows = [];
  state.clusters.forEach(function (c) {
    rows.push(el("tr", { className: "cluster", "data-name": c.name, "data-id": c.id }, [
      el("td", null, [el("strong", { text: c.name })]), cell(c.subscriptionId), cell(c.resourceGroup), cell(c.location), cell(c.kubernetesVersion),
      cell(c.pools.reduce(function (sum, p) { return sum + (p.count || 0); }, 0)), stateCell(c.provisioningState), stateCell(c.powerState),
      el("td", null, [kubeconfigButton(c, "admin"), " ", kubeconfigButton(c, "user")]),
    ]));
    c.pools.forEach(function (p) {
      rows.push(el("tr", { className: "pool", "data-cluster": c.name, "data-name": p.name }, [
        cell(p.name + (p.mode ? " (" + p.mode + ")" : "")), cell(""), cell(""), cell(p.vmSize), cell(p.orchestratorVersion), cell(p.count),
        stateCell(p.provisioningState), stateCell(p.powerState), cell(""),
      ]));
    });
  });
  fill("cluster-rows", rows, 9, "No clusters.");
  fill("running-rows", state.operations.running.map(function (o) {
    return el("tr", { className: "operation" }, [cell(o.action), cell(o.resourceId, "path"), stateCell(o.status), cell(time(o.startTime))]);
  }), 4, "Nothing in progress.");
  fill("finished-rows", state.operations.finished.map(function (o) {
    return el("tr", { className: "operation" }, [cell(o.action), cell(o.resourceId, "path"), stateCell(o.status), cell(time(o.startTime)), cell(time(o.endTime)),
      cell(o.error ? o.error.code + ": " + o.error.message : "", "status-error")]);
  }), 6, "No finished operations.");
}

function describeRule(rule) {
  if (rule.error) return rule.error.status + " " + rule.error.code + (rule.error.retryAfter !== undefined ? " (Retry-After " + rule.error.retryAfter + ")" : "") + (rule.delayMs ? " after " + rule.delayMs + " ms" : "");
  if (rule.failOperation) return "fail operation: " + rule.failOperation.code;
  if (rule.drop) return "drop" + (rule.delayMs ? " after " + rule.delayMs + " ms" : "");
  if (rule.operationDelayMs) return "operation ends " + rule.operationDelayMs + " ms later";
  return "delay " + rule.delayMs + " ms";
}
function renderFaults(faults) {
  fill("fault-rows", faults.value.map(function (rule) {
    var remove = el("button", { type: "button", className: "remove", text: "Remove" });
    remove.addEventListener("click", function () { getJson("/_emulator/faults/" + encodeURIComponent(rule.id), { method: "DELETE" }).then(refresh, showError); });
    var match = Object.keys(rule.match).map(function (key) { return key + "=" + rule.match[key]; }).join(", ") || "every ARM request";
    return el("tr", { className: "fault", "data-id": rule.id }, [cell(rule.id), cell(match, "path"), cell(describeRule(rule)),
      cell(rule.fired + (rule.times !== undefined ? " / " + rule.times : "")), el("td", null, [remove])]);
  }), 5, "No fault rules.");
}

function journalQuery() {
  var form = document.getElementById("journal-filter");
  var query = new URLSearchParams({ "$top": "100" });
  ["method", "status", "operationId"].forEach(function (name) { var value = form.elements[name].value.trim(); if (value) query.set(name, value); });
  return "/_emulator/requests?" + query;
}
function renderJournal(journal) {
  fill("journal-rows", journal.value.map(function (entry) {
    return el("tr", { className: "request", "data-method": entry.method, "data-operation": entry.operationId || "" }, [
      cell(time(entry.time), "nowrap"), cell(entry.method), cell(entry.path, "path"), cell(entry.operationId), cell(entry.apiVersion, "nowrap"),
      cell(entry.status, entry.status >= 400 ? "status-error" : ""), cell(entry.durationMs),
    ]);
  }), 7, "No requests match.");
}

function showError(error) { document.getElementById("error").textContent = "Emulator unreachable or refused: " + error.message; }
function refresh() {
  return Promise.all([getJson("/_emulator/state"), getJson("/_emulator/faults"), getJson(journalQuery())]).then(function (answers) {
    renderState(answers[0]);
    renderFaults(answers[1]);
    renderJournal(answers[2]);
    document.getElementById("error").textContent = "";
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  }, showError);
}

function faultBody(form) {
  var value = function (name) { return form.elements[name].value.trim(); };
  var number = function (name) { return value(name) === "" ? undefined : Number(value(name)); };
  var body = { match: {} };
  ["operationId", "method", "resourceId"].forEach(function (name) { if (value(name)) body.match[name] = value(name); });
  if (number("times") !== undefined) body.times = number("times");
  var action = value("action");
  if (action === "error") {
    body.error = { status: number("status"), code: value("code") };
    if (value("message")) body.error.message = value("message");
    if (number("retryAfter") !== undefined) body.error.retryAfter = number("retryAfter");
  } else if (action === "failOperation") {
    body.failOperation = { code: value("code") };
    if (value("message")) body.failOperation.message = value("message");
  } else if (action === "drop") body.drop = true;
  else body[action] = number("delay");
  return body;
}
document.getElementById("fault-form").addEventListener("submit", function (event) {
  event.preventDefault();
  var result = document.getElementById("fault-result");
  getJson("/_emulator/faults", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(faultBody(event.target)) }).then(function (rule) {
    result.textContent = "Added " + rule.id + ".";
    result.className = "";
    return refresh();
  }, function (error) {
    result.textContent = error.message;
    result.className = "status-error";
  });
});
document.getElementById("clear-faults").addEventListener("click", function () { getJson("/_emulator/faults", { method: "DELETE" }).then(refresh, showError); });
document.getElementById("journal-filter").addEventListener("input", refresh);
document.getElementById("journal-filter").addEventListener("submit", function (event) { event.preventDefault(); });

refresh();
setInterval(function () { if (!document.getElementById("paused").checked) refresh(); }, POLL_MS);
</script>
</body>
</html>
`;
