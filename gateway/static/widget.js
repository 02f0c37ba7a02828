/* contactgate web chat widget: <script src="https://GATEWAY/webchat/widget.js" data-channel="KEY" defer></script>
   Plain JavaScript, no build step. Keeps the visitor id and stream token in localStorage; reads
   agents' replies from an EventSource (reconnects with back-off) or, where that is missing or
   keeps failing, from a long-poll. The protocol is in docs/webchat.md. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-channel][src*='widget.js']");
  if (!script || !script.dataset.channel) return;
  var CHANNEL = script.dataset.channel;
  var BASE = new URL(script.src, location.href).origin;
  var TITLE = script.dataset.title || "Chat with us";
  var KEY = "contactgate:" + CHANNEL + ":";
  var store = {
    get: function (k) { try { return localStorage.getItem(KEY + k); } catch (e) { return null; } },
    set: function (k, v) { try { localStorage.setItem(KEY + k, v); } catch (e) { /* private mode */ } },
  };
  var seen = {}, lastId = 0, source = null, polling = false, failures = 0, timer = null, prechat = false;

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function visitorId() {
    var id = store.get("visitor");
    if (!id) { id = randomId(); store.set("visitor", id); }
    return id;
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  var css = el("style", {}, [
    "#cg-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;padding:12px 18px;background:#1f6feb;color:#fff;font:15px sans-serif;cursor:pointer}",
    "#cg-panel{position:fixed;right:20px;bottom:76px;z-index:2147483000;width:320px;max-width:calc(100vw - 40px);height:420px;display:none;flex-direction:column;background:#fff;border:1px solid #ccc;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.2);font:14px sans-serif}",
    "#cg-panel.cg-open{display:flex}#cg-head{padding:10px;background:#1f6feb;color:#fff;border-radius:8px 8px 0 0}",
    "#cg-messages{flex:1;overflow-y:auto;padding:8px;margin:0;list-style:none}",
    "#cg-messages li{margin:4px 0;padding:6px 9px;border-radius:10px;max-width:80%;white-space:pre-wrap;word-wrap:break-word}",
    ".cg-in{background:#1f6feb;color:#fff;margin-left:auto!important}.cg-out{background:#eee}.cg-pending{opacity:.6}",
    "#cg-form{display:flex;flex-direction:column;gap:4px;padding:8px;border-top:1px solid #eee}",
    "#cg-form input{padding:6px;font:14px sans-serif;width:100%;box-sizing:border-box}#cg-prechat{display:flex;flex-direction:column;gap:4px}#cg-prechat[hidden]{display:none}#cg-status{color:#a00;font-size:12px;min-height:1em}",
  ].join(""));
  var launcher = el("button", { id: "cg-launcher", type: "button", "aria-controls": "cg-panel" }, TITLE);
  var panel = el("section", { id: "cg-panel", "aria-label": TITLE });
  var list = el("ul", { id: "cg-messages", "aria-live": "polite" });
  var form = el("form", { id: "cg-form" });
  var details = el("div", { id: "cg-prechat", hidden: "" });
  [["name", "Your name", "text"], ["email", "Email", "email"], ["phone", "Phone", "tel"]].forEach(function (f) {
    details.appendChild(el("input", { id: "cg-" + f[0], name: f[0], placeholder: f[1], type: f[2], autocomplete: f[0] === "phone" ? "tel" : f[0] }));
  });
  var input = el("input", { id: "cg-text", autocomplete: "off", maxlength: "5000", placeholder: "Write a message", required: "" });
  var status = el("div", { id: "cg-status", role: "status" });
  form.appendChild(details);
  form.appendChild(input);
  form.appendChild(el("button", { id: "cg-send", type: "submit" }, "Send"));
  form.appendChild(status);
  panel.appendChild(el("div", { id: "cg-head" }, TITLE));
  panel.appendChild(list);
  panel.appendChild(form);

  function mount() {
    document.head.appendChild(css);
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    launcher.addEventListener("click", function () { panel.classList.toggle("cg-open"); if (panel.classList.contains("cg-open")) input.focus(); });
    form.addEventListener("submit", onSubmit);
    fetch(BASE + "/webchat/" + CHANNEL + "/config").then(function (r) { return r.json(); }).then(function (c) {
      prechat = !!c.prechat;
      details.hidden = !(prechat && !store.get("prechat_done"));
    }).catch(function () { /* no pre-chat form then */ });
    connect();
  }

  function show(line) {
    if (seen[line.id]) return;
    seen[line.id] = true;
    lastId = Math.max(lastId, line.id);
    var mine = line.client_id && list.querySelector("li[data-client-id='" + line.client_id + "']");
    if (mine) { mine.classList.remove("cg-pending"); mine.setAttribute("data-id", line.id); return; }
    var item = el("li", { "class": line.direction === "in" ? "cg-in" : "cg-out", "data-id": String(line.id) }, line.text);
    if (line.client_id) item.setAttribute("data-client-id", line.client_id);
    list.appendChild(item);
    list.scrollTop = list.scrollHeight;
  }

  function backoff() { return Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5))) * (0.75 + Math.random() / 2); }

  function connect() {
    var token = store.get("token");
    if (!token || source || polling) return;
    if (!window.EventSource || failures >= 4) { poll(token); return; }
    var url = BASE + "/webchat/" + CHANNEL + "/stream?token=" + encodeURIComponent(token) + "&after=" + lastId;
    source = new EventSource(url);
    source.onopen = function () { failures = 0; };
    source.addEventListener("message", function (e) { show(JSON.parse(e.data)); });
    source.onerror = function () {  // closed, refused or unreachable: our own back-off, not the browser's
      source.close();
      source = null;
      failures++;
      clearTimeout(timer);
      timer = setTimeout(connect, backoff());
    };
  }

  function poll(token) {
    polling = true;
    fetch(BASE + "/webchat/" + CHANNEL + "/poll?token=" + encodeURIComponent(token) + "&after=" + lastId)
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (body) { failures = 4; body.messages.forEach(show); poll(token); })
      .catch(function () { failures++; setTimeout(function () { poll(token); }, backoff()); });
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  async function send(text, clientId) {
    var body = { visitor_id: visitorId(), message: { id: clientId, text: text }, page_url: location.href };
    if (prechat && !store.get("prechat_done")) {
      var visitor = {};
      ["name", "email", "phone"].forEach(function (k) { var v = document.getElementById("cg-" + k).value.trim(); if (v) visitor[k] = v; });
      body.visitor = visitor;
    }
    var data = JSON.stringify(body);  // built once: every retry carries the same message.id
    for (var attempt = 0; attempt < 5; attempt++) {
      var res;
      try {
        res = await fetch(BASE + "/webhooks/" + CHANNEL, { method: "POST", headers: { "Content-Type": "application/json" }, body: data });
      } catch (err) { await sleep(1000 * Math.pow(2, attempt)); continue; }
      if (res.ok) return res.json();
      if (res.status === 429 || res.status === 503) {
        await sleep(1000 * (Number(res.headers.get("Retry-After")) || Math.pow(2, attempt)));
        continue;
      }
      throw new Error((await res.json()).detail || "could not send");
    }
    throw new Error("could not send; please try again");
  }

  async function onSubmit(event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    var clientId = randomId();
    var item = el("li", { "class": "cg-in cg-pending", "data-client-id": clientId }, text);
    list.appendChild(item);
    input.value = "";
    status.textContent = "";
    try {
      var answer = await send(text, clientId);
      item.classList.remove("cg-pending");
      if (prechat) { store.set("prechat_done", "1"); details.hidden = true; }
      if (answer.token && answer.token !== store.get("token")) { store.set("token", answer.token); }
      connect();
    } catch (err) {
      item.remove();
      input.value = text;
      status.textContent = err.message;
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
