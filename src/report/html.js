(function () {
  "use strict";
  var t0 = performance.now();
  var PAGE = 250;
  var raw = JSON.parse(document.getElementById("data").textContent);
  var C = raw.columns, S = raw.strings, G = raw.glyphs;
  var NUM = { attempts: true, duration_ms: true };
  var rows = raw.rows.map(function (r) {
    var o = {};
    for (var i = 0; i < C.length; i++) o[C[i]] = NUM[C[i]] ? r[i] : S[r[i]];
    return o;
  });
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function who(r) { return r.account_name && r.account_name !== r.account_id ? r.account_name + " (" + r.account_id + ")" : r.account_id; }
  function summary(r) {
    var s = [who(r), r.region, "status: " + r.status + " (action " + r.action + ")"];
    if (r.previous_version || r.document_version) s.push("version: " + (r.previous_version || "none") + " → " + (r.document_version || "none"));
    if (r.changed_inputs) s.push("changed inputs: " + r.changed_inputs.split(";").join(", "));
    if (r.error_code || r.error_message) s.push("error: " + [r.error_code, r.error_message].filter(Boolean).join(": "));
    if (r.findings) s.push("preflight: " + r.findings);
    if (r.version_created_at) s.push("version in force: created " + r.version_created_at + ", author " + r.version_author);
    if (r.pruned_versions) s.push("old versions pruned: " + r.pruned_versions);
    return s.join("\n");
  }

  // The matrix: accounts (by name, then id) × regions (sorted); one cell per row.
  var accounts = new Map(), regionSet = new Set();
  rows.forEach(function (r, i) {
    regionSet.add(r.region);
    var a = accounts.get(r.account_id);
    if (!a) { a = { id: r.account_id, name: r.account_name, by: new Map() }; accounts.set(r.account_id, a); }
    var list = a.by.get(r.region);
    if (!list) a.by.set(r.region, list = []);
    list.push(i);
  });
  var regions = Array.from(regionSet).sort();
  var natural = new Intl.Collator("en", { numeric: true }).compare;
  var accs = Array.from(accounts.values()).sort(function (x, y) {
    return natural(x.name, y.name) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  });
  var cells = new Array(rows.length);
  var matrix = document.getElementById("matrix"), BLOCK = 50, ROW = 22;
  var longest = accs.reduce(function (m, a) { return Math.max(m, (a.name || "").length + (a.name !== a.id ? 13 : 0)); }, 20);
  var labelPx = Math.min(340, 30 + 7 * longest);
  matrix.style.setProperty("--label", labelPx + "px");
  matrix.style.setProperty("--regions", regions.length);
  var head = el("div", "mhead");
  head.appendChild(el("div", "corner", accs.length.toLocaleString("en") + " accounts × " + regions.length + " regions"));
  regions.forEach(function (g) { head.appendChild(el("div", "region", g)); });
  var frag = document.createDocumentFragment();
  frag.appendChild(head);
  var block;
  accs.forEach(function (a, n) {
    if (n % BLOCK === 0) {
      block = el("div", "mblock");
      block.style.containIntrinsicSize = "auto " + (labelPx + 26 * regions.length) + "px auto " + ROW * Math.min(BLOCK, accs.length - n) + "px";
      frag.appendChild(block);
    }
    var tr = el("div", "mrow"), th = el("div", "acct");
    th.appendChild(document.createTextNode(a.name || a.id));
    if (a.name && a.name !== a.id) th.appendChild(el("small", "", a.id));
    th.title = a.name + " " + a.id;
    tr.appendChild(th);
    regions.forEach(function (g) {
      var list = a.by.get(g), td = el("div", "slot");
      if (!list) { td.className = "slot none"; td.title = g + ": not a target"; }
      else list.forEach(function (i) {
        var r = rows[i], c = el("div", "cell status-" + r.status, G[r.status] || "?");
        // A blocking preflight finding marks the cell whatever its status (an audit's
        // compliant target whose bucket is gone is not done).
        if (r.findings && r.findings.indexOf("(blocking)") >= 0) c.classList.add("blocking");
        c.dataset.account = r.account_id;
        c.dataset.region = r.region;
        c.dataset.i = i;
        c.title = summary(r);
        cells[i] = c;
        td.appendChild(c);
      });
      tr.appendChild(td);
    });
    block.appendChild(tr);
  });
  matrix.appendChild(frag);

  // The detail panel.
  var detail = document.getElementById("detail"), selected = -1;
  function select(i) {
    if (selected >= 0 && cells[selected]) cells[selected].classList.remove("sel");
    selected = i;
    var r = rows[i];
    if (cells[i]) { cells[i].classList.add("sel"); }
    detail.textContent = "";
    detail.appendChild(el("h2", "", who(r) + " · " + r.region));
    var dl = el("dl");
    C.forEach(function (c) {
      dl.appendChild(el("dt", "", c));
      var dd = el("dd", c === "content_sha256" || c === "started_at" ? "mono" : "");
      var v = r[c];
      if (c === "status") dd.appendChild(el("span", "badge status-" + v, (G[v] || "") + " " + v));
      else if (c === "changed_inputs" && v) dd.textContent = v.split(";").join(", ");
      else dd.textContent = v === "" ? "—" : String(v);
      dl.appendChild(dd);
    });
    detail.appendChild(dl);
    var rowEls = tbody.querySelectorAll("tr.sel");
    for (var k = 0; k < rowEls.length; k++) rowEls[k].classList.remove("sel");
    var tr = tbody.querySelector('tr[data-i="' + i + '"]');
    if (tr) tr.classList.add("sel");
  }
  matrix.addEventListener("click", function (e) {
    var c = e.target.closest(".cell");
    if (c) select(+c.dataset.i);
  });

  // The table: every column, the matching rows a page at a time.
  var table = document.getElementById("table"), tbody = table.tBodies[0];
  var hr = el("tr");
  C.forEach(function (c) { hr.appendChild(el("th", "", c)); });
  table.tHead.appendChild(hr);
  var order = [];
  accs.forEach(function (a) { regions.forEach(function (g) { (a.by.get(g) || []).forEach(function (i) { order.push(i); }); }); });
  var hay = new Array(rows.length);
  function text(i) {
    if (hay[i] === undefined) { var r = rows[i]; hay[i] = C.map(function (c) { return String(r[c]); }).join("\u0001").toLowerCase(); }
    return hay[i];
  }
  var state = { text: "", status: "" }, matches = order, shown = 0;
  var count = document.getElementById("count"), more = document.getElementById("more"), all = document.getElementById("all");
  function rowEl(i) {
    var r = rows[i], tr = el("tr", "row");
    tr.dataset.i = i;
    C.forEach(function (c) {
      var v = r[c], td;
      if (c === "status") { td = el("td", "st"); td.appendChild(el("span", "status-" + v, (G[v] || "") + " " + v)); }
      else if (c === "content_sha256") { td = el("td", "mono", v.length > 12 ? v.slice(0, 12) + "…" : v); td.title = v; }
      else if (c === "changed_inputs") td = el("td", "wrap", v.split(";").join("; "));
      else td = el("td", c === "error_message" ? "msg" : c === "account_name" ? "wrap" : c === "account_id" || c === "started_at" ? "mono" : "", String(v));
      tr.appendChild(td);
    });
    if (i === selected) tr.classList.add("sel");
    return tr;
  }
  function showMore(n) {
    var f = document.createDocumentFragment(), end = Math.min(matches.length, shown + n);
    for (; shown < end; shown++) f.appendChild(rowEl(matches[shown]));
    tbody.appendChild(f);
    count.textContent = "Showing " + shown.toLocaleString("en") + " of " + matches.length.toLocaleString("en") + " matching rows (" + rows.length.toLocaleString("en") + " in all).";
    count.dataset.matching = matches.length;
    count.dataset.shown = shown;
    more.hidden = all.hidden = shown >= matches.length;
  }
  more.addEventListener("click", function () { showMore(PAGE); });
  all.addEventListener("click", function () { showMore(matches.length); });
  tbody.addEventListener("click", function (e) {
    var tr = e.target.closest("tr.row");
    if (tr) select(+tr.dataset.i);
  });

  var input = document.getElementById("filter"), quick = document.getElementById("quick");
  function apply(fromUser) {
    var words = state.text.toLowerCase().split(/\s+/).filter(Boolean), st = state.status;
    var on = words.length > 0 || st !== "";
    var hit = new Uint8Array(rows.length);
    matches = order.filter(function (i) {
      if (st && rows[i].status !== st) return false;
      var t = words.length ? text(i) : "";
      for (var w = 0; w < words.length; w++) if (t.indexOf(words[w]) < 0) return false;
      hit[i] = 1;
      return true;
    });
    for (var i = 0; i < cells.length; i++) if (cells[i]) cells[i].classList.toggle("dim", on && !hit[i]);
    var bs = quick.querySelectorAll("button");
    for (var b = 0; b < bs.length; b++) bs[b].setAttribute("aria-pressed", String(bs[b].dataset.status === st));
    tbody.textContent = "";
    shown = 0;
    showMore(PAGE);
    if (fromUser) {
      var q = new URLSearchParams();
      if (state.text) q.set("filter", state.text);
      if (state.status) q.set("status", state.status);
      try { history.replaceState(null, "", "#" + q.toString()); } catch (err) { /* file:// in some browsers */ }
    }
  }
  var counts = {};
  rows.forEach(function (r) { counts[r.status] = (counts[r.status] || 0) + 1; });
  var qb = el("button", "", "all (" + rows.length.toLocaleString("en") + ")");
  qb.type = "button"; qb.dataset.status = "";
  quick.appendChild(qb);
  raw.order.filter(function (s) { return counts[s]; }).forEach(function (s) {
    var b = el("button");
    b.type = "button"; b.dataset.status = s;
    b.appendChild(el("span", "chip status-" + s, G[s] || "?"));
    b.appendChild(document.createTextNode(s + " (" + counts[s].toLocaleString("en") + ")"));
    quick.appendChild(b);
  });
  quick.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b) return;
    state.status = state.status === b.dataset.status ? "" : b.dataset.status;
    apply(true);
  });
  document.getElementById("summary").addEventListener("click", function (e) {
    var c = e.target.closest("[data-status]");
    if (c) { state.status = c.dataset.status; apply(true); document.getElementById("rows").scrollIntoView(); }
  });
  var timer = 0;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.text = input.value; apply(true); }, rows.length > 2000 ? 150 : 0);
  });

  function fromHash() {
    var q = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.text = q.get("filter") || "";
    state.status = q.get("status") || "";
    input.value = state.text;
    apply(false);
    var target = q.get("select");
    if (target) {
      var k = target.lastIndexOf(":"), id = target.slice(0, k), g = target.slice(k + 1);
      for (var i = 0; i < rows.length; i++) if (rows[i].account_id === id && rows[i].region === g) { select(i); break; }
    }
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
  // For the browser test and the curious: the script's time, and the time since navigation.
  document.body.dataset.renderMs = Math.round(performance.now() - t0);
  document.body.dataset.readyMs = Math.round(performance.now());
})();
