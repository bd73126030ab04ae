(function () {
  "use strict";
  var t0 = performance.now();
  var PAGE = 250;
  // Above MATRIX_ALL accounts the matrix shows the accounts that need attention (at most
  // MATRIX_ROWS, the worst first) and counts the rest in a row or two; above PRINT_ALL targets
  // the printout has the targets that need attention in full and the rest as counts by region
  // (docs/usage.md, `--html`).
  var MATRIX_ALL = 200, MATRIX_ROWS = 500, PRINT_ALL = 1000;
  var raw = JSON.parse(document.getElementById("data").textContent);
  var C = raw.columns, S = raw.strings, G = raw.glyphs;
  var NUM = { attempts: true, duration_ms: true };
  function set(list) { var o = {}; (list || []).forEach(function (k) { o[k] = true; }); return o; }
  var QUIET = set(raw.quiet), EXCUSED = set(raw.excused);
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
  function n(x) { return x.toLocaleString("en"); }
  function who(r) { return r.account_name && r.account_name !== r.account_id ? r.account_name + " (" + r.account_id + ")" : r.account_id; }
  function why(r) { return [r.error_code, r.error_message].filter(Boolean).join(": "); }
  function blocking(r) { return r.findings.indexOf("(blocking)") >= 0; }
  // As intended, or nothing to do there (a region the account has not enabled, or an SCP
  // closes): what the matrix and the printout may say in counts. The rest needs attention.
  function quiet(r) { return !blocking(r) && (QUIET[r.status] || (r.status === "skipped" && EXCUSED[r.error_code]) || false); }
  // The worst first: failed, then drifted or missing, then blocked (or a blocking finding),
  // then the other statuses that need attention, then the rest, each in the page's order.
  var orderRank = {};
  raw.order.forEach(function (s, k) { orderRank[s] = k; });
  var WORST = { failed: 0, drifted: 1, missing: 1, blocked: 2 };
  function rank(r) {
    if (quiet(r)) return 100 + orderRank[r.status];
    if (WORST[r.status] !== undefined) return WORST[r.status];
    return blocking(r) ? 2 : 3 + orderRank[r.status];
  }
  function summary(r) {
    var s = [who(r), r.region, "status: " + r.status + " (action " + r.action + ")"];
    if (r.previous_version || r.document_version) s.push("version: " + (r.previous_version || "none") + " → " + (r.document_version || "none"));
    if (r.changed_inputs) s.push("changed inputs: " + r.changed_inputs.split(";").join(", "));
    if (r.error_code || r.error_message) s.push("error: " + why(r));
    if (r.findings) s.push("preflight: " + r.findings);
    if (r.nodes) s.push("managed nodes online: " + r.nodes + ", at risk: " + (r.nodes_at_risk || "0"));
    if (r.version_created_at) s.push("version in force: created " + r.version_created_at + ", author " + r.version_author);
    if (r.pruned_versions) s.push("old versions pruned: " + r.pruned_versions);
    return s.join("\n");
  }

  // Columns with one value in every row are said once, in the header, and not per row.
  var KEY = { account_id: true, account_name: true, region: true, status: true };
  var constant = {};
  if (rows.length > 1) {
    C.forEach(function (c, k) {
      var v = raw.rows[0][k];
      for (var i = 1; i < raw.rows.length; i++) if (raw.rows[i][k] !== v) return;
      if (!KEY[c]) constant[c] = rows[0][c];
    });
  }
  // The document and the command are the run's, already in the header.
  var same = C.filter(function (c) { return constant[c] !== undefined && constant[c] !== "" && c !== "document_name" && c !== "command"; });
  if (same.length) {
    var item = el("div", "wide");
    item.id = "same";
    item.appendChild(el("dt", "", "same in every row"));
    item.appendChild(el("dd", "mono", same.map(function (c) { return c + " " + constant[c]; }).join(" · ")));
    document.querySelector(".meta").appendChild(item);
  }
  // A row's fields beyond the table's columns: every column that varies between rows.
  var OTHER = C.filter(function (c) { return !KEY[c] && constant[c] === undefined; });

  // The matrix: accounts (by name, then id) × regions (sorted); one cell per row.
  var accounts = new Map(), regionSet = new Set(), attention = 0;
  rows.forEach(function (r, i) {
    regionSet.add(r.region);
    var a = accounts.get(r.account_id);
    if (!a) { a = { id: r.account_id, name: r.account_name, by: new Map(), attn: false }; accounts.set(r.account_id, a); }
    var list = a.by.get(r.region);
    if (!list) a.by.set(r.region, list = []);
    list.push(i);
    if (!quiet(r)) { a.attn = true; a.worst = Math.min(a.worst === undefined ? 255 : a.worst, rank(r)); attention++; }
  });
  var regions = Array.from(regionSet).sort();
  var natural = new Intl.Collator("en", { numeric: true }).compare;
  var accs = Array.from(accounts.values()).sort(function (x, y) {
    return natural(x.name, y.name) || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
  });
  var calm = accs.filter(function (a) { return !a.attn; });
  // The accounts that need attention, the worst first (then by name): those a condensed
  // matrix shows, up to MATRIX_ROWS.
  var troubled = accs.filter(function (a) { return a.attn; });
  troubled = troubled.map(function (a, k) { return [a, k]; }).sort(function (x, y) { return x[0].worst - y[0].worst || x[1] - y[1]; }).map(function (p) { return p[0]; });
  var condensed = accs.length > MATRIX_ALL && (calm.length > 0 || troubled.length > MATRIX_ROWS);
  var cells = new Array(rows.length);
  var matrix = document.getElementById("matrix"), BLOCK = 50, ROW = 22;
  var longest = accs.reduce(function (m, a) { return Math.max(m, (a.name || "").length + (a.name !== a.id ? 13 : 0)); }, 20);
  var labelPx = Math.min(340, 30 + 7 * longest);
  matrix.style.setProperty("--label", labelPx + "px");
  matrix.style.setProperty("--regions", regions.length);
  // Counts of the targets of `list`'s accounts, as one matrix row: per region, the commonest
  // status's cell, every count in its title.
  function countRow(label, list) {
    var tr = el("div", "mrow rest"), th = el("div", "acct", label);
    th.title = label;
    tr.appendChild(th);
    regions.forEach(function (g) {
      var by = {}, total = 0;
      list.forEach(function (a) { (a.by.get(g) || []).forEach(function (i) { by[rows[i].status] = (by[rows[i].status] || 0) + 1; total++; }); });
      var td = el("div", "slot");
      if (!total) { td.className = "slot none"; td.title = g + ": not a target"; }
      else {
        var top = Object.keys(by).sort(function (x, y) { return by[y] - by[x]; })[0];
        var c = el("div", "cell sum status-" + top, G[top] || "?");
        c.title = g + ": " + Object.keys(by).map(function (s) { return n(by[s]) + " " + s; }).join(", ");
        td.appendChild(c);
      }
      tr.appendChild(td);
    });
    return tr;
  }
  function drawMatrix(every) {
    var shown = every ? accs : troubled.slice(0, MATRIX_ROWS), over = every ? [] : troubled.slice(MATRIX_ROWS);
    cells = new Array(rows.length);
    matrix.textContent = "";
    var head = el("div", "mhead");
    head.appendChild(el("div", "corner", n(shown.length) + " accounts × " + regions.length + " regions"));
    regions.forEach(function (g) { head.appendChild(el("div", "region", g)); });
    var frag = document.createDocumentFragment();
    frag.appendChild(head);
    var block;
    shown.forEach(function (a, k) {
      if (k % BLOCK === 0) {
        block = el("div", "mblock");
        block.style.containIntrinsicSize = "auto " + (labelPx + 26 * regions.length) + "px auto " + ROW * Math.min(BLOCK, shown.length - k) + "px";
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
          if (blocking(r)) c.classList.add("blocking");
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
    // The accounts left out, in a row each: those past MATRIX_ROWS, and those as intended.
    if (over.length) frag.appendChild(countRow(n(over.length) + " more accounts that need attention", over));
    if (!every && calm.length) frag.appendChild(countRow(n(calm.length) + " more accounts: all as intended", calm));
    matrix.appendChild(frag);
    var note = document.getElementById("matrix-note");
    note.textContent = "";
    if (condensed) {
      note.appendChild(document.createTextNode(every
        ? "Every account. "
        : "The " + n(shown.length) + " accounts that need attention" + (over.length ? " most (the worst first)" : "") + " of " + n(accs.length) + "; the last rows count the others' targets, and the table below counts every target by region. "));
      var b = el("button", "", every ? "Only the accounts that need attention" : "Show every account");
      b.type = "button";
      b.addEventListener("click", function () { drawMatrix(!every); apply(false); });
      note.appendChild(b);
    }
  }

  // By region, for a condensed matrix or a printout of what needs attention: every target
  // counted, whatever they leave out.
  if (condensed || rows.length > PRINT_ALL) {
    var byRegion = document.getElementById("by-region"), present = raw.order.filter(function (s) { return rows.some(function (r) { return r.status === s; }); });
    var perRegion = {};
    rows.forEach(function (r) { var c = perRegion[r.region] || (perRegion[r.region] = {}); c[r.status] = (c[r.status] || 0) + 1; });
    var t = el("table"), hrow = el("tr");
    hrow.appendChild(el("th", "", "region"));
    present.forEach(function (s) { var th = el("th"); th.appendChild(el("span", "chip status-" + s, G[s] || "?")); th.appendChild(document.createTextNode(" " + s)); hrow.appendChild(th); });
    t.appendChild(el("thead")).appendChild(hrow);
    var tb = t.appendChild(el("tbody"));
    regions.forEach(function (g) {
      var tr = el("tr");
      tr.appendChild(el("td", "", g));
      present.forEach(function (s) { tr.appendChild(el("td", "num", perRegion[g][s] ? n(perRegion[g][s]) : "")); });
      tb.appendChild(tr);
    });
    byRegion.appendChild(el("h2", "", "Targets by region"));
    byRegion.appendChild(t);
    byRegion.hidden = false;
  }

  // The Target panel: every field of one target that varies between rows.
  var detail = document.getElementById("detail"), selected = -1;
  function fields(r, list, skipEmpty) {
    var dl = el("dl");
    list.forEach(function (c) {
      var v = r[c];
      if (skipEmpty && v === "") return;
      var pair = dl.appendChild(el("div"));
      pair.appendChild(el("dt", "", c));
      var dd = el("dd", c === "content_sha256" || c === "started_at" || c === "account_id" ? "mono" : "");
      if (c === "status") dd.appendChild(el("span", "badge status-" + v, (G[v] || "") + " " + v));
      else if (c === "changed_inputs" && v) dd.textContent = v.split(";").join(", ");
      else dd.textContent = v === "" ? "—" : String(v);
      pair.appendChild(dd);
    });
    return dl;
  }
  function select(i) {
    if (selected >= 0 && cells[selected]) cells[selected].classList.remove("sel");
    selected = i;
    var r = rows[i];
    if (cells[i]) { cells[i].classList.add("sel"); }
    detail.textContent = "";
    detail.appendChild(el("h2", "", who(r) + " · " + r.region));
    detail.appendChild(fields(r, ["account_id", "account_name", "region", "status"].concat(OTHER), false));
    var rowEls = tbody.querySelectorAll("tr.sel");
    for (var k = 0; k < rowEls.length; k++) rowEls[k].classList.remove("sel");
    var tr = tbody.querySelector('tr[data-i="' + i + '"]');
    if (tr) tr.classList.add("sel");
  }
  matrix.addEventListener("click", function (e) {
    var c = e.target.closest(".cell");
    if (c && c.dataset.i !== undefined) select(+c.dataset.i);
  });

  // The table: what an auditor reads first, one line a row, the worst first; a click opens
  // the row's other fields beneath it (and in the Target panel).
  var COLS = [
    ["account_id", "account", "mono"],
    ["account_name", "name", ""],
    ["region", "region", ""],
    ["status", "status", "st"],
    ["changed_inputs", "what differs", ""],
    ["why", "why (error_code: error_message)", "why"]
  ];
  var table = document.getElementById("table"), tbody = table.tBodies[0];
  var hr = el("tr");
  COLS.forEach(function (c) { var th = el("th", "c-" + c[0], c[1]); hr.appendChild(th); });
  table.tHead.appendChild(hr);
  var order = [];
  accs.forEach(function (a) { regions.forEach(function (g) { (a.by.get(g) || []).forEach(function (i) { order.push(i); }); }); });
  var ranks = new Uint8Array(rows.length), place = new Uint32Array(rows.length);
  order.forEach(function (i, k) { ranks[i] = rank(rows[i]); place[i] = k; });
  order.sort(function (x, y) { return ranks[x] - ranks[y] || place[x] - place[y]; });
  var hay = new Array(rows.length);
  function text(i) {
    if (hay[i] === undefined) { var r = rows[i]; hay[i] = C.map(function (c) { return String(r[c]); }).join("\u0001").toLowerCase(); }
    return hay[i];
  }
  var state = { text: "", status: "" }, matches = order, shown = 0, open = new Set();
  var count = document.getElementById("count"), more = document.getElementById("more"), all = document.getElementById("all");
  function rowEl(i) {
    var r = rows[i], tr = el("tr", "row");
    tr.dataset.i = i;
    tr.tabIndex = 0;
    tr.setAttribute("aria-expanded", String(open.has(i)));
    COLS.forEach(function (c) {
      var k = c[0], td;
      if (k === "status") { td = el("td", "st"); td.appendChild(el("span", "status-" + r.status, (G[r.status] || "") + " " + r.status)); }
      else {
        var v = k === "why" ? why(r) : k === "changed_inputs" ? r.changed_inputs.split(";").join(", ") : String(r[k]);
        td = el("td", c[2], v);
        // The cell shows one line; its full text on hover, and in the opened row.
        if (v) td.title = v;
      }
      tr.appendChild(td);
    });
    if (i === selected) tr.classList.add("sel");
    return tr;
  }
  function expansion(i) {
    var tr = el("tr", "expanded"), td = el("td");
    tr.dataset.of = i;
    td.colSpan = COLS.length;
    td.appendChild(fields(rows[i], OTHER, true));
    tr.appendChild(td);
    return tr;
  }
  function toggle(tr) {
    var i = +tr.dataset.i, next = tr.nextElementSibling;
    if (open.has(i)) { open.delete(i); if (next && next.classList.contains("expanded")) next.remove(); }
    else { open.add(i); tr.after(expansion(i)); }
    tr.setAttribute("aria-expanded", String(open.has(i)));
  }
  function showMore(k) {
    var f = document.createDocumentFragment(), end = Math.min(matches.length, shown + k);
    for (; shown < end; shown++) {
      var i = matches[shown];
      f.appendChild(rowEl(i));
      if (open.has(i)) f.appendChild(expansion(i));
    }
    tbody.appendChild(f);
    count.textContent = "Showing " + n(shown) + " of " + n(matches.length) + " matching rows (" + n(rows.length) + " in all), the worst first. Click a row for its other fields.";
    count.dataset.matching = matches.length;
    count.dataset.shown = shown;
    more.hidden = all.hidden = shown >= matches.length;
  }
  more.addEventListener("click", function () { showMore(PAGE); });
  all.addEventListener("click", function () { showMore(matches.length); });
  tbody.addEventListener("click", function (e) {
    var tr = e.target.closest("tr.row");
    if (tr) { select(+tr.dataset.i); toggle(tr); }
  });
  tbody.addEventListener("keydown", function (e) {
    var tr = e.target.closest("tr.row");
    if (tr && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); select(+tr.dataset.i); toggle(tr); }
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
    if (selected >= 0 && cells[selected]) cells[selected].classList.add("sel");
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
  var qb = el("button", "", "all (" + n(rows.length) + ")");
  qb.type = "button"; qb.dataset.status = "";
  quick.appendChild(qb);
  raw.order.filter(function (s) { return counts[s]; }).forEach(function (s) {
    var b = el("button");
    b.type = "button"; b.dataset.status = s;
    b.appendChild(el("span", "chip status-" + s, G[s] || "?"));
    b.appendChild(document.createTextNode(s + " (" + n(counts[s]) + ")"));
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

  // The printout (print only): every target, or past PRINT_ALL those that need attention, in
  // full, the worst first; one table row a target, never split across pages.
  function printout() {
    var sec = document.getElementById("print-rows");
    var every = rows.length <= PRINT_ALL, list = every ? order : order.filter(function (i) { return !quiet(rows[i]); });
    sec.appendChild(el("h2", "", every ? "Every target, the worst first" : "The " + n(list.length) + " targets that need attention, the worst first"));
    if (!every) {
      var rest = rows.length - list.length, notes = {};
      rows.forEach(function (r) { if (quiet(r) && r.error_code) notes[r.error_code] = (notes[r.error_code] || 0) + 1; });
      var p = el("p", "", "The other " + n(rest) + " targets are as intended (or have nothing to do): they are counted by region above.");
      var codes = Object.keys(notes).sort();
      if (codes.length) p.appendChild(document.createTextNode(" Notes and warnings on them: " + codes.map(function (c) { return c + " on " + n(notes[c]) + " targets"; }).join(", ") + "."));
      sec.appendChild(p);
    }
    var t = el("table"), head = el("tr");
    t.id = "ptable";
    ["target", "status", "what differs", "why", "version, sha256", "who, when"].forEach(function (h) { head.appendChild(el("th", "", h)); });
    t.appendChild(el("thead")).appendChild(head);
    var tb = t.appendChild(el("tbody")), f = document.createDocumentFragment();
    function line(td, label, v, cls) {
      if (!v) return;
      var d = el("div", cls);
      if (label) d.appendChild(el("span", "l", label + " "));
      d.appendChild(document.createTextNode(v));
      td.appendChild(d);
    }
    list.forEach(function (i) {
      var r = rows[i], tr = el("tr"), td;
      tr.dataset.i = i;
      td = el("td");
      line(td, "", r.account_id, "mono");
      line(td, "", r.region);
      if (r.account_name && r.account_name !== r.account_id) line(td, "", r.account_name);
      tr.appendChild(td);
      td = el("td", "st");
      td.appendChild(el("span", "status-" + r.status, (G[r.status] || "") + " " + r.status));
      if (constant.action === undefined) line(td, "action", r.action);
      tr.appendChild(td);
      tr.appendChild(el("td", "", r.changed_inputs.split(";").join(", ")));
      td = el("td");
      line(td, "", why(r));
      if (r.findings && r.findings !== r.error_code) line(td, "findings", r.findings);
      tr.appendChild(td);
      td = el("td");
      line(td, "version", r.previous_version === r.document_version ? r.document_version : (r.previous_version || "none") + " → " + (r.document_version || "none"));
      line(td, "sha256", r.content_sha256, "mono hash");
      // The author where it varies (a constant one is in the header).
      line(td, "created", r.version_created_at && r.version_created_at + (r.version_author && constant.version_author === undefined ? " by " + r.version_author : ""));
      line(td, "pruned", r.pruned_versions);
      tr.appendChild(td);
      td = el("td");
      line(td, "changed by", r.changed_by);
      line(td, "at", r.changed_at);
      line(td, "Security Hub", r.security_hub);
      line(td, "nodes", r.nodes && r.nodes + (r.nodes_at_risk && r.nodes_at_risk !== "0" ? " (" + r.nodes_at_risk + " at risk)" : ""));
      line(td, "wave", r.wave);
      line(td, "started", r.started_at, "mono");
      tr.appendChild(td);
      f.appendChild(tr);
    });
    tb.appendChild(f);
    sec.appendChild(t);
    sec.dataset.printed = list.length;
  }

  // For the browser test and the curious: whether the page scrolls sideways at this width.
  function measure() {
    var doc = document.documentElement, wrap = document.getElementById("table-wrap");
    document.body.dataset.overflowX = Math.max(0, doc.scrollWidth - doc.clientWidth);
    document.body.dataset.tableOverflowX = Math.max(0, wrap.scrollWidth - wrap.clientWidth);
    document.body.dataset.width = doc.clientWidth;
    var tallest = 0, trs = tbody.querySelectorAll("tr.row");
    for (var k = 0; k < trs.length; k++) tallest = Math.max(tallest, trs[k].offsetHeight);
    document.body.dataset.rowHeight = tallest;
  }

  function fromHash() {
    var q = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.text = q.get("filter") || "";
    state.status = q.get("status") || "";
    input.value = state.text;
    apply(false);
    var target = q.get("select"), found = -1;
    if (target) {
      var k = target.lastIndexOf(":"), id = target.slice(0, k), g = target.slice(k + 1);
      for (var i = 0; i < rows.length; i++) if (rows[i].account_id === id && rows[i].region === g) { found = i; break; }
    }
    // The Target panel opens on the named target, else on the worst.
    if (found < 0 && order.length) found = order[0];
    if (found >= 0) select(found);
  }
  drawMatrix(!condensed);
  printout();
  window.addEventListener("hashchange", fromHash);
  fromHash();
  measure();
  window.addEventListener("resize", measure);
  document.body.dataset.attention = attention;
  // For the browser test and the curious: the script's time, and the time since navigation.
  document.body.dataset.renderMs = Math.round(performance.now() - t0);
  document.body.dataset.readyMs = Math.round(performance.now());
})();
