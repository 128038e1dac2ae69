// The build page, live: follows the log from where the server-rendered page stopped and keeps
// the status up to date. Without this file the page still shows the log up to the moment it
// was loaded. Log text is only ever set with textContent, never parsed as HTML.
(() => {
  "use strict";
  const log = document.getElementById("build-log");
  if (!log || log.dataset.live !== "true" || typeof EventSource === "undefined") return;
  const status = document.getElementById("build-status");
  const reason = document.getElementById("build-reason");
  const took = document.getElementById("build-duration");
  const cancel = document.getElementById("cancel-build");
  const empty = document.getElementById("build-log-empty");
  const BAD = ["failed", "cancelled", "interrupted"];

  const atBottom = () => log.scrollHeight - log.scrollTop - log.clientHeight < 8;
  log.scrollTop = log.scrollHeight;

  const duration = (secs) => {
    const s = Math.max(0, Math.round(secs));
    const pad = (n) => String(n).padStart(2, "0");
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
    return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
  };

  const append = (seq, text) => {
    const line = document.createElement("span");
    line.className = "log-line";
    line.id = "L" + seq;
    const number = document.createElement("a");
    number.className = "ln";
    number.href = "#L" + seq;
    number.textContent = seq;
    line.appendChild(number);
    line.appendChild(document.createTextNode(text + "\n"));
    log.appendChild(line);
  };

  // While it runs, the duration counts up from its start.
  let ticker = null;
  const tick = (startedAt) => {
    clearInterval(ticker);
    const start = Date.parse(startedAt);
    if (!took || Number.isNaN(start)) return;
    ticker = setInterval(() => { took.textContent = duration((Date.now() - start) / 1000); }, 1000);
  };

  // Facts learnt while it ran (the commit, the pushed digest) join the details list.
  const meta = document.querySelector(".build-meta");
  const addFact = (id, label, value) => {
    if (!meta || !value || document.getElementById(id)) return;
    const term = document.createElement("dt");
    term.textContent = label;
    const fact = document.createElement("dd");
    fact.id = id;
    fact.className = "mono break";
    fact.textContent = value;
    meta.appendChild(term);
    meta.appendChild(fact);
  };

  const show = (build) => {
    addFact("build-revision", "Revision", build.revision);
    addFact("build-digest", "Digest", build.digest);
    if (build.status === "running" && build.started_at) tick(build.started_at);
    else clearInterval(ticker);
    if (status && build.status) {
      status.textContent = build.status;
      status.className = "badge status-" + build.status;
    }
    if (took && typeof build.duration_secs === "number") took.textContent = duration(build.duration_secs);
    const ended = !["queued", "running"].includes(build.status);
    if (ended && cancel) cancel.hidden = true;
    if (ended && reason && BAD.includes(build.status)) {
      reason.textContent = build.reason || "the build " + build.status + " without giving a reason";
      reason.hidden = false;
    }
  };

  const parse = (data) => { try { return JSON.parse(data); } catch (e) { return null; } };

  // The server ends a stream that has been idle a while (and when the build ends); the browser
  // then reconnects by itself, sending the id of the last line it got (Last-Event-ID), so
  // nothing is missed or repeated. A refused reconnection (429: too many streams) closes the
  // source for good: start a new one from the last line after a pause.
  let last = log.dataset.after || "0";
  let ended = false;
  const connect = () => {
    const source = new EventSource("/build/" + encodeURIComponent(log.dataset.build) +
                                   "/events?after=" + encodeURIComponent(last));
    source.addEventListener("message", (e) => {
      const follow = atBottom();
      last = e.lastEventId;
      append(e.lastEventId, e.data);
      if (empty) empty.hidden = true;
      if (follow) log.scrollTop = log.scrollHeight;
    });
    source.addEventListener("status", (e) => { const build = parse(e.data); if (build) show(build); });
    source.addEventListener("end", (e) => {
      ended = true;
      source.close();
      const build = parse(e.data);
      if (build) show(build);
    });
    source.addEventListener("error", () => {
      if (!ended && source.readyState === EventSource.CLOSED) setTimeout(connect, 10000);
    });
  };
  connect();
})();
