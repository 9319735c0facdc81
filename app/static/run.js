// Solve run page: poll the run's JSON and redraw the numbers and the progress chart, without
// ever blocking the page. Between polls the clock ticks on from the server's elapsed time
// (so a skewed client clock does not matter); once the run has finished the page goes to
// its proposal, or reloads to show why there is none.
(function () {
  "use strict";
  var root = document.getElementById("run");
  if (!root) {
    return;
  }
  var url = root.dataset.pollUrl;
  var chart = document.getElementById("run-chart");
  var SVG = "http://www.w3.org/2000/svg";
  var FINISHED = ["succeeded", "failed", "cancelled"];
  var W = 640, H = 220, L = 44, B = 26, T = 10, R = 10;
  var clock = document.getElementById("run-clock");
  var timeBar = document.getElementById("run-time");
  // The clock: the server's elapsed seconds at the last poll, and when that poll came back.
  var base = clock && clock.dataset.elapsed !== "" ? parseFloat(clock.dataset.elapsed) : NaN;
  var baseAt = window.performance.now();
  var ticking = root.dataset.status === "running";
  var timer = null;

  function tick() {
    if (!clock || isNaN(base)) {
      return;
    }
    var seconds = base + (ticking ? (window.performance.now() - baseAt) / 1000 : 0);
    clock.textContent = seconds.toFixed(1);
    if (timeBar) {
      timeBar.value = Math.min(seconds, parseFloat(timeBar.max));
    }
  }

  function node(name, attributes, text) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { el.setAttribute(key, attributes[key]); });
    if (text !== undefined) {
      el.textContent = text;
    }
    return el;
  }

  // Draws the best plan and the bound over time; `now` (seconds) carries the last values on to
  // the present, so a search that has not improved for a while shows it.
  function draw(history, now) {
    while (chart.firstChild) {
      chart.removeChild(chart.firstChild);
    }
    chart.appendChild(node("line", { "class": "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
    chart.appendChild(node("line", { "class": "axis", x1: L, y1: T, x2: L, y2: H - B }));
    var points = (history || []).filter(function (p) { return p && p.length >= 3; });
    if (!points.length) {
      chart.appendChild(node("text", { x: L + 8, y: H / 2 }, "…"));
      return;
    }
    if (now && now > points[points.length - 1][0]) {
      var last = points[points.length - 1];
      points = points.concat([[now, last[1], last[2], true]]);
    }
    var tMax = Math.max.apply(null, points.map(function (p) { return p[0]; })) || 1;
    var values = [];
    points.forEach(function (p) {
      if (p[1] !== null) { values.push(p[1]); }
      if (p[2] !== null) { values.push(p[2]); }
    });
    var vMax = Math.max.apply(null, values.concat([1]));
    var vMin = Math.min.apply(null, values.concat([0]));
    var span = vMax - vMin || 1;
    function x(t) { return L + (W - L - R) * t / tMax; }
    function y(v) { return H - B - (H - B - T) * (v - vMin) / span; }
    function path(index) {
      var d = "";
      points.forEach(function (p) {
        if (p[index] === null || p[index] === undefined) { return; }
        d += (d ? " L" : "M") + x(p[0]).toFixed(1) + " " + y(p[index]).toFixed(1);
      });
      return d;
    }
    chart.appendChild(node("path", { "class": "bound", d: path(2) }));
    chart.appendChild(node("path", { "class": "objective", d: path(1) }));
    // Dots show every report, so a solve that finished at once still shows its point.
    points.forEach(function (p) {
      [[1, "objective"], [2, "bound"]].forEach(function (pair) {
        if (!p[3] && p[pair[0]] !== null && p[pair[0]] !== undefined) {
          chart.appendChild(node("circle", {
            "class": pair[1] + "-dot", cx: x(p[0]).toFixed(1), cy: y(p[pair[0]]).toFixed(1), r: 3
          }));
        }
      });
    });
    chart.appendChild(node("text", { x: 4, y: T + 10 }, String(Math.round(vMax * 10) / 10)));
    chart.appendChild(node("text", { x: 4, y: H - B }, String(Math.round(vMin * 10) / 10)));
    chart.appendChild(node("text", { x: W - R - 40, y: H - 6 }, tMax.toFixed(1) + " s"));
    chart.appendChild(node("text", { x: L, y: H - 6 }, "0 s"));
  }

  function show(id, value) {
    var el = document.getElementById(id);
    if (el) {
      el.textContent = value === null || value === undefined ? "—" : String(value);
    }
  }

  function update(run) {
    var progress = run.progress || {};
    show("run-objective", progress.objective);
    show("run-bound", progress.bound);
    show("run-elapsed", (progress.elapsed || 0).toFixed(1));
    if (run.elapsed_seconds !== null && run.elapsed_seconds !== undefined) {
      base = run.elapsed_seconds;
      baseAt = window.performance.now();
    }
    ticking = run.status === "running";
    tick();
    var badge = document.querySelector("#run-status .status");
    if (badge && run.status) {
      badge.className = "status " + run.status;
      badge.textContent = run.status;
    }
    draw(progress.history, run.status === "running" ? run.elapsed_seconds : null);
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (run) {
        update(run);
        if (FINISHED.indexOf(run.status) >= 0) {
          window.clearInterval(timer);
          if (run.proposal) {
            // The proposal URL of id 0 is the pattern: put this run's proposal in its place.
            window.location.assign(root.dataset.proposalUrl.replace(/0$/, String(run.proposal)));
          } else {
            window.location.reload();
          }
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  var initial = document.getElementById("run-history");
  draw(initial ? JSON.parse(initial.textContent) : []);
  if (FINISHED.indexOf(root.dataset.status) < 0) {
    timer = window.setInterval(tick, 100);
    window.setTimeout(poll, 500);
  }
})();
