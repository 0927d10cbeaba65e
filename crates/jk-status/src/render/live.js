(function () {
  "use strict";
  // The overview's live charts (mod_jk-rs): polls this status worker's JSON (the URL is the
  // data-src of #jk-live) every 2 s and draws, per member, requests/s, errors/s and the p99
  // reply time over the last 2 minutes, and the step of a roll in progress. Everything is
  // drawn here: no external script, font or image. Rates and the p99 come from the
  // differences between two polls (the p99 like Prometheus' histogram_quantile).
  var root = document.getElementById("jk-live");
  if (!root || !window.fetch || !window.JSON) { return; }
  var src = root.getAttribute("data-src");
  var PERIOD = 2000, POINTS = 60, W = 240, H = 64;
  var STEPS = ["restarting", "draining", "command", "cleared", "warming up", "active"];
  var members = {};
  var status = document.createElement("p");
  status.className = "jk-live-status";
  root.appendChild(status);
  var roll = document.createElement("p");
  roll.className = "jk-roll";
  root.appendChild(roll);
  var boxes = {};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function sumReplies(m) {
    var r = m.latency && m.latency.replies, n = 0, k;
    if (!r) { return m.elected || 0; }
    for (k in r) { if (Object.prototype.hasOwnProperty.call(r, k)) { n += r[k]; } }
    return n;
  }

  // The q-quantile of the observations between two cumulative bucket lists.
  function quantile(q, le, now, before) {
    var d = [], i;
    for (i = 0; i < now.length; i++) { d.push(now[i] - (before ? before[i] || 0 : 0)); }
    var total = d[d.length - 1];
    if (!(total > 0)) { return null; }
    var rank = q * total;
    for (i = 0; i < d.length; i++) {
      if (d[i] >= rank) {
        if (i >= le.length) { return le[le.length - 1]; }
        var lo = i ? le[i - 1] : 0, below = i ? d[i - 1] : 0, inside = d[i] - below;
        return inside > 0 ? lo + (le[i] - lo) * (rank - below) / inside : le[i];
      }
    }
    return le[le.length - 1];
  }

  // Where a member is in `jkctl restart`/`roll` (its steps 1-6), from what the JSON says.
  function step(m) {
    if (m.restarting) { return (m.in_flight > 0 || m.busy > 0) ? 1 : 2; }
    if (m.awaiting_readiness) { return 4; }
    return -1;
  }

  function card(lb, m) {
    var key = lb + "\u0000" + m.name;
    var c = members[key];
    if (c) { return c; }
    var box = boxes[lb];
    if (!box) {
      root.appendChild(el("h3", null, "Live: balancer " + lb));
      box = el("div", "jk-cards");
      root.appendChild(box);
      boxes[lb] = box;
    }
    var div = el("div", "jk-card");
    div.setAttribute("data-member", m.name);
    div.appendChild(el("div", "jk-card-name", m.name));
    var steps = el("div", "jk-steps");
    var cells = [];
    for (var i = 0; i < STEPS.length; i++) {
      var s = el("span", "jk-step", String(i + 1));
      s.title = "step " + (i + 1) + "/6: " + STEPS[i];
      steps.appendChild(s);
      cells.push(s);
    }
    div.appendChild(steps);
    var canvas = el("canvas", "jk-chart");
    canvas.width = W;
    canvas.height = H;
    div.appendChild(canvas);
    var text = el("div", "jk-card-text", "waiting for data");
    div.appendChild(text);
    box.appendChild(div);
    c = { div: div, cells: cells, canvas: canvas, text: text, prev: null, pts: [] };
    members[key] = c;
    return c;
  }

  // The newest point at the right edge; until POINTS polls are there, the points spread
  // over the whole width.
  function line(g, pts, pick, max, color) {
    var span = Math.max(Math.min(pts.length, POINTS) - 1, 1);
    g.strokeStyle = color;
    g.lineWidth = 1.5;
    g.beginPath();
    var started = false;
    for (var i = 0; i < pts.length; i++) {
      var v = pick(pts[i]);
      if (v === null) { started = false; continue; }
      var x = W - 1 - (pts.length - 1 - i) * (W - 2) / span;
      var y = H - 2 - (max > 0 ? v / max : 0) * (H - 6);
      if (started) { g.lineTo(x, y); } else { g.moveTo(x, y); started = true; }
    }
    g.stroke();
  }

  function draw(c) {
    var g = c.canvas.getContext("2d");
    if (!g) { return; }
    g.clearRect(0, 0, W, H);
    g.fillStyle = "#f4f4f4";
    g.fillRect(0, 0, W, H);
    var maxRate = 0, maxP99 = 0, i;
    for (i = 0; i < c.pts.length; i++) {
      maxRate = Math.max(maxRate, c.pts[i].rps, c.pts[i].eps);
      if (c.pts[i].p99 !== null) { maxP99 = Math.max(maxP99, c.pts[i].p99); }
    }
    // Requests last, on top: a steady rate and a steady p99 both run along the top edge,
    // and the line drawn last hides the other.
    line(g, c.pts, function (p) { return p.p99; }, maxP99, "#e08a00");
    line(g, c.pts, function (p) { return p.eps; }, maxRate, "#d0201f");
    line(g, c.pts, function (p) { return p.rps; }, maxRate, "#1f6fd0");
  }

  function fmt(v, digits) { return v === null ? "-" : v.toFixed(digits); }

  function update(lb, m, now) {
    var c = card(lb, m);
    var reply = m.latency && m.latency.reply;
    var cur = { t: now, req: sumReplies(m), err: m.errors || 0,
                buckets: reply ? reply.buckets : null };
    if (c.prev) {
      var dt = (cur.t - c.prev.t) / 1000;
      if (dt > 0) {
        var p = {
          rps: Math.max(0, cur.req - c.prev.req) / dt,
          eps: Math.max(0, cur.err - c.prev.err) / dt,
          p99: reply && c.prev.buckets ? quantile(0.99, reply.le, reply.buckets, c.prev.buckets) : null
        };
        c.pts.push(p);
        if (c.pts.length > POINTS) { c.pts.shift(); }
        c.text.textContent = (step(m) >= 0 ? "step " + (step(m) + 1) + "/6 " + STEPS[step(m)] + " \u00b7 " : "") +
          fmt(p.rps, 1) + " req/s \u00b7 " + fmt(p.eps, 1) + " err/s \u00b7 p99 " +
          (p.p99 === null ? "-" : fmt(p.p99 * 1000, 0) + " ms") + " \u00b7 " + m.activation + " " + m.state;
      }
    }
    c.prev = cur;
    var s = step(m);
    for (var i = 0; i < c.cells.length; i++) {
      c.cells[i].className = "jk-step" + (i < s ? " jk-step-done" : i === s ? " jk-step-now" : "");
    }
    c.div.className = "jk-card" + (s >= 0 ? " jk-card-roll" : "");
    draw(c);
    return s >= 0 ? m.name + ": step " + (s + 1) + "/6 " + STEPS[s] : null;
  }

  function poll() {
    fetch(src, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (doc) {
      var now = Date.now(), rolling = [], seen = {}, key;
      (doc.balancers || []).forEach(function (lb) {
        (lb.members || []).forEach(function (m) {
          seen[lb.name + "\u0000" + m.name] = true;
          var s = update(lb.name, m, now);
          if (s) { rolling.push(lb.name + "/" + s); }
        });
      });
      // A member removed at runtime loses its card.
      for (key in members) {
        if (Object.prototype.hasOwnProperty.call(members, key) && !seen[key]) {
          members[key].div.parentNode.removeChild(members[key].div);
          delete members[key];
        }
      }
      roll.textContent = rolling.length ? "Roll in progress: " + rolling.join("; ") : "";
      status.textContent = "Live: updated " + new Date(now).toLocaleTimeString() +
        " (every " + PERIOD / 1000 + " s; blue requests/s, red errors/s, orange p99)";
      root.setAttribute("data-polls", String((+root.getAttribute("data-polls") || 0) + 1));
    }).catch(function (e) {
      status.textContent = "Live: " + e.message;
    });
  }

  poll();
  setInterval(poll, PERIOD);
})();
