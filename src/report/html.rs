//! The self-contained HTML report (`--html`): run metadata, counts, an accounts × regions
//! matrix coloured by status, and the full table with a filter. No network fetch of any kind.
//!
//! One file an auditor opens from disk: inline CSS and JS only, under a CSP that forbids every
//! fetch (`default-src 'none'`). The header, the counts and the legend are rendered here, so
//! they read even with JavaScript off; the matrix and the table are built in the browser from
//! the rows, embedded once as JSON in `<script type="application/json" id="data">`.
//!
//! The embedded data is dictionary-encoded to keep a 17,000-target page small (about 1.5 MB):
//! `{"columns": [the CSV columns of DESIGN §4], "strings": [every distinct text value],
//! "rows": [[one value per column]], "glyphs": {status: glyph}, "order": [statuses, worst first]}`, where a row's value is an index
//! into `strings`, except `attempts` and `duration_ms`, which are numbers. `<`, `>` and `&` are
//! written as `\u003c`, `\u003e`, `\u0026` inside the JSON, so no value (account names are user
//! data) can close the script element; the page's JS only ever puts values into the DOM through
//! `textContent`, `title` and `dataset`, never as markup.
//!
//! The page honours a URL fragment, for links and for the browser test: `#filter=TEXT` (the
//! filter box), `status=STATUS` (a quick filter), `select=ACCOUNT_ID:REGION` (open a target's
//! detail), joined with `&`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use crate::report::csv::{Action, COLUMNS, ReportRow, Status};

/// Who ran what, when, with which preferences: the page's header for an auditor.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    pub tool_version: String,
    /// The command line as typed, with any external id redacted.
    pub command: String,
    /// STS GetCallerIdentity's ARN for the base credentials, or why it is unknown.
    pub caller_arn: String,
    pub started_at: String,
    pub ended_at: String,
    pub preferences_path: String,
    pub preferences_sha256: String,
    pub document_name: String,
}

/// Writes the page for these rows (one per target).
pub fn write(path: &Path, meta: &RunMeta, rows: &[ReportRow]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(meta, rows))
}

/// The colour family of a status; DESIGN's report statuses mapped to what an auditor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tone {
    Bad,
    Warn,
    Ok,
    Other,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Bad => "tone-bad",
            Tone::Warn => "tone-warn",
            Tone::Ok => "tone-ok",
            Tone::Other => "tone-other",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            Tone::Ok => "as intended",
            Tone::Warn => "differs, or not attempted",
            Tone::Bad => "failed or absent",
            Tone::Other => "other",
        }
    }
}

/// Every status, worst first: the order of the counts, the legend and the quick filters.
const STATUSES: [Status; 12] = [
    Status::Failed,
    Status::Missing,
    Status::Drifted,
    Status::WouldCreate,
    Status::WouldUpdate,
    Status::Skipped,
    Status::Created,
    Status::Updated,
    Status::Restored,
    Status::Deleted,
    Status::Unchanged,
    Status::Compliant,
];

/// A status's colour and the glyph its matrix cell shows (colour alone fails colour-blind
/// readers and greyscale printouts). Exhaustive, so a new status cannot go unstyled.
fn look(s: Status) -> (Tone, &'static str) {
    match s {
        Status::Compliant => (Tone::Ok, "✓"),
        Status::Unchanged => (Tone::Ok, "="),
        Status::Created => (Tone::Ok, "+"),
        Status::Updated => (Tone::Ok, "↑"),
        Status::Restored => (Tone::Ok, "↺"),
        Status::Drifted => (Tone::Warn, "≠"),
        Status::WouldUpdate => (Tone::Warn, "~"),
        Status::WouldCreate => (Tone::Warn, "+"),
        Status::Skipped => (Tone::Warn, "»"),
        Status::Failed => (Tone::Bad, "✗"),
        Status::Missing => (Tone::Bad, "∅"),
        Status::Deleted => (Tone::Other, "×"),
    }
}

fn action_str(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update => "update",
        Action::None => "none",
        Action::Restore => "restore",
        Action::Delete => "delete",
    }
}

/// The subcommand named in the command line (for the title), or "run".
fn command_name(command: &str) -> &str {
    command
        .split_whitespace()
        .find(|w| matches!(*w, "plan" | "apply" | "audit" | "rollback"))
        .unwrap_or("run")
}

/// The whole page as one string.
pub fn render(meta: &RunMeta, rows: &[ReportRow]) -> String {
    let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
    for r in rows {
        *counts.entry(r.status).or_default() += 1;
    }
    let accounts: BTreeSet<&str> = rows.iter().map(|r| r.account_id.as_str()).collect();
    let regions: BTreeSet<&str> = rows.iter().map(|r| r.region.as_str()).collect();
    let data = data_json(rows);
    let command = command_name(&meta.command);

    let mut page = String::with_capacity(data.len() + STYLE.len() + SCRIPT.len() + 16 * 1024);
    let p = &mut page;
    p.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n");
    // First in <head>, before anything that could fetch.
    p.push_str(CSP);
    p.push_str("\n<meta charset=\"utf-8\">\n<meta name=\"referrer\" content=\"no-referrer\">\n");
    p.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        p,
        "<title>ssm-prefs {} report: {} targets</title>",
        esc(command),
        rows.len()
    );
    let _ = writeln!(p, "<style>{STYLE}</style>\n</head>\n<body>");

    // Run metadata.
    let _ = writeln!(
        p,
        "<header>\n<h1>ssm-prefs {} report</h1>\n<dl class=\"meta\">",
        esc(command)
    );
    let items = [
        ("command", meta.command.as_str(), "wide"),
        ("caller identity", meta.caller_arn.as_str(), ""),
        ("document", meta.document_name.as_str(), ""),
        ("started", meta.started_at.as_str(), ""),
        ("ended", meta.ended_at.as_str(), ""),
        ("preferences", meta.preferences_path.as_str(), ""),
        ("preferences sha256", meta.preferences_sha256.as_str(), ""),
        ("tool version", meta.tool_version.as_str(), ""),
    ];
    for (label, value, class) in items {
        let _ = writeln!(
            p,
            "<div class=\"{class}\"><dt>{}</dt><dd class=\"mono\">{}</dd></div>",
            esc(label),
            esc(value)
        );
    }
    p.push_str("</dl>\n</header>\n<main>\n");

    // Counts.
    let _ = writeln!(
        p,
        "<section id=\"summary\" aria-label=\"summary\">\n<div class=\"card total\"><b>{}</b> targets<small>{} accounts × {} regions</small></div>",
        rows.len(),
        accounts.len(),
        regions.len()
    );
    for s in STATUSES {
        let Some(n) = counts.get(&s) else { continue };
        let (tone, glyph) = look(s);
        let _ = writeln!(
            p,
            "<div class=\"card {}\" data-status=\"{}\"><b>{n}</b><span class=\"g\">{glyph}</span> {}<small>{:.1}%</small></div>",
            tone.class(),
            s.as_str(),
            s.as_str(),
            100.0 * *n as f64 / rows.len().max(1) as f64
        );
    }
    p.push_str("</section>\n");

    // Legend: every status by colour family.
    p.push_str("<section id=\"legend\" aria-label=\"legend\">\n");
    for tone in [Tone::Ok, Tone::Warn, Tone::Bad, Tone::Other] {
        let _ = write!(
            p,
            "<span class=\"legend-group\"><span class=\"sw {}\"></span>{}:",
            tone.class(),
            tone.meaning()
        );
        for s in STATUSES.iter().filter(|s| look(**s).0 == tone) {
            let _ = write!(
                p,
                " <span class=\"chip status-{0}\">{1}</span>&nbsp;{0}",
                s.as_str(),
                look(*s).1
            );
        }
        p.push_str("</span>\n");
    }
    p.push_str("<span class=\"legend-group\"><span class=\"chip none\"></span>&nbsp;not a target</span>\n</section>\n");

    p.push_str(BODY);
    let _ = writeln!(
        p,
        "<script type=\"application/json\" id=\"data\">{data}</script>"
    );
    let _ = writeln!(p, "<script>{SCRIPT}</script>\n</body>\n</html>");
    page
}

/// The rows as the dictionary-encoded JSON of the module doc, safe inside a script element.
fn data_json(rows: &[ReportRow]) -> String {
    fn push<'a>(s: &'a str, strings: &mut Vec<&'a str>) -> usize {
        strings.push(s);
        strings.len() - 1
    }
    let mut strings: Vec<&str> = vec![];
    let mut index: HashMap<&str, usize> = HashMap::new();
    // The statuses first, so the most repeated values get the shortest indices.
    for s in STATUSES {
        index.insert(s.as_str(), push(s.as_str(), &mut strings));
    }
    let mut out = String::with_capacity(rows.len() * 96 + 1024);
    out.push_str("{\"columns\":");
    out.push_str(&serde_json::to_string(&COLUMNS).expect("strings serialize"));
    out.push_str(",\"rows\":[");
    for (n, r) in rows.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let texts = [
            r.account_id.as_str(),
            r.account_name.as_str(),
            r.region.as_str(),
            r.document_name.as_str(),
            action_str(r.action),
            r.status.as_str(),
            r.previous_version.as_str(),
            r.document_version.as_str(),
            r.content_sha256.as_str(),
            r.changed_inputs.as_str(),
            r.error_code.as_str(),
            r.error_message.as_str(),
        ];
        out.push('[');
        for t in texts {
            let i = *index.entry(t).or_insert_with(|| push(t, &mut strings));
            let _ = write!(out, "{i},");
        }
        let _ = write!(
            out,
            "{},{},{}]",
            r.attempts,
            *index
                .entry(r.started_at.as_str())
                .or_insert_with(|| push(&r.started_at, &mut strings)),
            r.duration_ms
        );
    }
    out.push_str("],\"strings\":");
    out.push_str(&serde_json::to_string(&strings).expect("strings serialize"));
    let glyphs: BTreeMap<&str, &str> = STATUSES.iter().map(|s| (s.as_str(), look(*s).1)).collect();
    out.push_str(",\"glyphs\":");
    out.push_str(&serde_json::to_string(&glyphs).expect("strings serialize"));
    let order: Vec<&str> = STATUSES.iter().map(|s| s.as_str()).collect();
    out.push_str(",\"order\":");
    out.push_str(&serde_json::to_string(&order).expect("strings serialize"));
    out.push('}');
    script_safe(&out)
}

/// JSON that cannot end its `<script>` element or open a comment in it: these characters only
/// occur inside JSON strings, where the `\uXXXX` form means the same.
fn script_safe(json: &str) -> String {
    let mut s = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => s.push_str("\\u003c"),
            '>' => s.push_str("\\u003e"),
            '&' => s.push_str("\\u0026"),
            '\u{2028}' => s.push_str("\\u2028"),
            '\u{2029}' => s.push_str("\\u2029"),
            c => s.push(c),
        }
    }
    s
}

/// Text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSP: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">";

/// The part of `<main>` the script fills in.
const BODY: &str = r##"<noscript><p class="note">The matrix and the table need JavaScript; the CSV report holds every row.</p></noscript>
<section id="overview">
<div id="matrix-wrap" aria-label="accounts × regions"><div id="matrix"></div></div>
<aside id="detail" aria-live="polite"><h2>Target</h2><p class="hint">Click a cell of the matrix or a row of the table to see that target here; hover a cell for a summary.</p></aside>
</section>
<section id="rows">
<div class="toolbar">
<input id="filter" type="search" placeholder="Filter rows: account, region, status, input, error… (all words must match)" aria-label="filter rows" autocomplete="off">
<span id="quick" role="group" aria-label="filter by status"></span>
</div>
<p id="count" aria-live="polite"></p>
<div id="table-wrap"><table id="table"><thead></thead><tbody></tbody></table></div>
<p class="more"><button type="button" id="more">Show more</button> <button type="button" id="all">Show all</button></p>
</section>
</main>
"##;

const STYLE: &str = r##"
:root{--ok:#2e8b46;--ok-fg:#fff;--warn:#f2b01e;--warn-fg:#3b2a00;--bad:#c0262d;--bad-fg:#fff;--other:#8a8f96;--other-fg:#fff;--line:#d8dce1;--muted:#5b6470;--bg:#f6f7f9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d232b;background:var(--bg)}
header{background:#1d2733;color:#eef1f4;padding:12px 20px}
h1{margin:0 0 6px;font-size:20px}
h2{margin:0 0 8px;font-size:16px}
.mono,code,td.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:2px 24px;margin:0}
.meta .wide{grid-column:1/-1}
.meta div{display:flex;gap:8px;min-width:0}
.meta dt{color:#9fb0c2;white-space:nowrap;min-width:132px}
.meta dd{margin:0;overflow-wrap:anywhere}
main{padding:12px 20px 40px}
#summary{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:8px}
.card{padding:6px 12px;border-radius:6px;background:#fff;border:1px solid var(--line);border-left-width:6px;min-width:120px}
.card b{font-size:20px;margin-right:6px}
.card small{display:block;color:var(--muted)}
.card.tone-ok{border-left-color:var(--ok)}.card.tone-warn{border-left-color:var(--warn)}.card.tone-bad{border-left-color:var(--bad)}.card.tone-other{border-left-color:var(--other)}
.card .g{margin-right:4px}
#legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:12.5px;color:var(--muted);margin:4px 0 12px}
.legend-group{white-space:nowrap}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;margin-right:4px}
.sw.tone-ok{background:var(--ok)}.sw.tone-warn{background:var(--warn)}.sw.tone-bad{background:var(--bad)}.sw.tone-other{background:var(--other)}
.chip{display:inline-block;min-width:18px;height:18px;line-height:18px;text-align:center;border-radius:3px;font-size:12px}
.chip.none{background:repeating-linear-gradient(45deg,#eceef1,#eceef1 3px,#fff 3px,#fff 6px);border:1px solid var(--line);vertical-align:-4px}
.cell,.chip{background:var(--other);color:var(--other-fg)}
.status-compliant,.status-unchanged,.status-created,.status-updated,.status-restored{background:var(--ok);color:var(--ok-fg)}
.status-drifted,.status-would-update,.status-would-create,.status-skipped{background:var(--warn);color:var(--warn-fg)}
.status-failed,.status-missing{background:var(--bad);color:var(--bad-fg)}
#overview{display:flex;gap:16px;align-items:flex-start}
#matrix-wrap{flex:0 1 auto;max-height:70vh;overflow:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
#matrix{display:grid;grid-template-columns:minmax(0,max-content)}
.mhead,.mrow{display:grid;grid-template-columns:var(--label) repeat(var(--regions),26px);align-items:center}
.mhead{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);align-items:end;font-size:12px}
.mhead .region{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;height:104px;padding:4px 0;white-space:nowrap;justify-self:center}
.mhead .corner{position:sticky;left:0;background:#fff;padding:4px 8px;color:var(--muted)}
/* Blocks of accounts off screen are neither laid out nor painted: 1,000 accounts open fast. */
.mblock{content-visibility:auto}
.mrow{height:22px}
.mrow .acct{position:sticky;left:0;z-index:1;background:#fff;height:22px;line-height:22px;padding:0 10px 0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;border-right:1px solid var(--line);font-size:12.5px}
.mrow .acct small{color:var(--muted);margin-left:6px;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.slot{display:flex;gap:1px;padding:1px}
.slot.none{height:20px;margin:1px;background:repeating-linear-gradient(45deg,#f3f4f6,#f3f4f6 3px,#fff 3px,#fff 6px)}
.cell{flex:1 1 0;min-width:0;overflow:hidden;height:20px;line-height:20px;border-radius:3px;text-align:center;font-size:12px;cursor:pointer;user-select:none}
.cell.dim{opacity:.15}
.cell.sel{outline:3px solid #1d2733;outline-offset:0}
#detail{flex:1 1 340px;min-width:300px;max-width:560px;position:sticky;top:8px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 14px}
#detail .hint{color:var(--muted);margin:0}
#detail dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 12px;margin:0}
#detail dt{color:var(--muted)}
#detail dd{margin:0;overflow-wrap:anywhere}
#detail .badge{display:inline-block;padding:0 8px;border-radius:10px}
#rows{margin-top:16px}
.toolbar{display:flex;flex-wrap:wrap;gap:8px;align-items:center}
#filter{flex:1 1 360px;padding:6px 10px;font-size:14px;border:1px solid #aab2bd;border-radius:5px}
#quick button,.more button{font:inherit;font-size:12.5px;padding:4px 10px;border:1px solid #aab2bd;border-radius:14px;background:#fff;cursor:pointer}
#quick button[aria-pressed=true]{background:#1d2733;color:#fff;border-color:#1d2733}
#quick .chip{margin-right:4px;min-width:16px;height:16px;line-height:16px}
#count{color:var(--muted);margin:8px 0 4px}
#table-wrap{overflow:auto;background:#fff;border:1px solid var(--line);border-radius:6px}
#table{border-collapse:collapse;width:100%;font-size:12.5px}
#table th{position:sticky;top:0;background:#eef0f3;text-align:left;padding:5px 8px;white-space:nowrap;border-bottom:1px solid var(--line)}
#table td{padding:4px 8px;border-bottom:1px solid #edf0f2;vertical-align:top;white-space:nowrap}
#table td.wrap{white-space:normal;min-width:160px;max-width:280px;overflow-wrap:anywhere}
#table td.msg{white-space:normal;min-width:240px;max-width:520px}
#table tr.row{cursor:pointer}
#table tr.row:hover{background:#f3f6fa}
#table tr.sel{background:#e6eefa}
#table td.st span{display:inline-block;padding:0 8px;border-radius:10px;white-space:nowrap}
.more button[hidden]{display:none}
.note{background:#fff3cd;padding:8px 12px;border-radius:6px}
"##;

const SCRIPT: &str = r##"
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
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn row(i: usize, region: &str, status: Status) -> ReportRow {
        ReportRow {
            account_id: format!("{:012}", 100_000_000_000usize + i),
            account_name: format!("account-{i}"),
            region: region.into(),
            document_name: "SSM-SessionManagerRunShell".into(),
            action: Action::None,
            status,
            previous_version: "3".into(),
            document_version: "3".into(),
            content_sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                .into(),
            changed_inputs: if status == Status::Drifted {
                "s3BucketName;kmsKeyId".into()
            } else {
                String::new()
            },
            error_code: String::new(),
            error_message: String::new(),
            attempts: 1,
            started_at: format!("2025-01-02T03:04:{:02}.{:03}Z", i % 60, i % 1000),
            duration_ms: 40 + i as u64 % 300,
        }
    }

    fn meta() -> RunMeta {
        RunMeta {
            tool_version: "0.1.0".into(),
            command: "ssm-prefs audit -i inv.yml -p prefs.json --external-id <redacted>".into(),
            caller_arn: "arn:aws:iam::123456789012:user/auditor".into(),
            started_at: "2025-01-02T03:04:05.000Z".into(),
            ended_at: "2025-01-02T03:05:05.000Z".into(),
            preferences_path: "prefs/a&b.json".into(),
            preferences_sha256: "ab".repeat(32),
            document_name: "SSM-SessionManagerRunShell".into(),
        }
    }

    /// The embedded data, decoded back into one JSON object per row.
    fn embedded(page: &str) -> Vec<BTreeMap<String, Value>> {
        let open = "<script type=\"application/json\" id=\"data\">";
        let start = page.find(open).expect("data block") + open.len();
        let end = start + page[start..].find("</script>").expect("data block ends");
        let data: Value = serde_json::from_str(&page[start..end]).expect("data is JSON");
        let cols: Vec<String> = serde_json::from_value(data["columns"].clone()).unwrap();
        let strings = data["strings"].as_array().unwrap();
        data["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                cols.iter()
                    .zip(r.as_array().unwrap())
                    .map(|(c, v)| {
                        let v = if c == "attempts" || c == "duration_ms" {
                            v.clone()
                        } else {
                            strings[v.as_u64().unwrap() as usize].clone()
                        };
                        (c.clone(), v)
                    })
                    .collect()
            })
            .collect()
    }

    fn fleet(accounts: usize, regions: &[&str]) -> Vec<ReportRow> {
        let statuses = [
            Status::Compliant,
            Status::Drifted,
            Status::Missing,
            Status::Failed,
        ];
        (0..accounts)
            .flat_map(|a| {
                regions
                    .iter()
                    .enumerate()
                    .map(move |(g, r)| row(a, r, statuses[(a * 7 + g) % 4]))
            })
            .collect()
    }

    #[test]
    fn user_data_stays_inert() {
        let evil = "</script><img src=x onerror=alert(1)><!-- \u{2028}";
        let mut r = row(1, "us-east-1", Status::Failed);
        r.account_name = evil.into();
        r.error_message = "AccessDenied: \"quoted\" & 'single' </SCRIPT >".into();
        let mut m = meta();
        m.caller_arn = format!("arn:aws:sts::1:assumed-role/{evil}");
        m.command =
            "ssm-prefs audit -i \"a b\".yml --external-id <redacted> --html '<b>x</b>'".into();
        let page = render(&m, &[r.clone()]);

        // Exactly the page's own two script elements, and no markup from the data.
        assert_eq!(page.matches("<script").count(), 2);
        assert_eq!(page.to_lowercase().matches("</script").count(), 2);
        assert!(!page.contains("<img"), "markup from data reached the page");
        assert!(!page.contains("<b>x"));
        assert!(!page.contains("<!--"));
        let data = &page[page.find("id=\"data\">").unwrap() + 10..];
        let data = &data[..data.find("</script>").unwrap()];
        assert!(!data.contains(['<', '>', '&', '\u{2028}']), "{data}");
        assert!(page.contains("arn:aws:sts::1:assumed-role/&lt;/script&gt;&lt;img src=x"));
        assert!(page.contains("--html &#39;&lt;b&gt;x&lt;/b&gt;&#39;"));
        assert!(page.contains("prefs/a&amp;b.json"));
        assert!(page.contains("--external-id &lt;redacted&gt;"));
        // Yet the data reads back exactly.
        let back = embedded(&page);
        assert_eq!(back[0]["account_name"], evil);
        assert_eq!(back[0]["error_message"], r.error_message.as_str());
    }

    #[test]
    fn one_matrix_entry_per_row() {
        let rows = fleet(5, &["us-east-1", "eu-west-1", "ap-southeast-2"]);
        let page = render(&meta(), &rows);
        let back = embedded(&page);
        assert_eq!(back.len(), rows.len());
        for (r, b) in rows.iter().zip(&back) {
            assert_eq!(b["account_id"], r.account_id.as_str());
            assert_eq!(b["region"], r.region.as_str());
            assert_eq!(b["status"], r.status.as_str());
            assert_eq!(b["changed_inputs"], r.changed_inputs.as_str());
            assert_eq!(b["started_at"], r.started_at.as_str());
            assert_eq!(b["attempts"], r.attempts);
            assert_eq!(b["duration_ms"], r.duration_ms);
            assert_eq!(b["action"], "none");
        }
        let keys: BTreeSet<_> = back
            .iter()
            .map(|b| (b["account_id"].to_string(), b["region"].to_string()))
            .collect();
        assert_eq!(keys.len(), rows.len(), "one target per row");
        // The counts are rendered on the server side, and agree with the rows.
        for s in [
            Status::Compliant,
            Status::Drifted,
            Status::Missing,
            Status::Failed,
        ] {
            let n = rows.iter().filter(|r| r.status == s).count();
            let card = format!("data-status=\"{}\"><b>{n}</b>", s.as_str());
            assert!(page.contains(&card), "{card}");
        }
        assert!(page.contains("<b>15</b> targets<small>5 accounts × 3 regions</small>"));
    }

    #[test]
    fn nothing_can_fetch() {
        let page = render(&meta(), &fleet(2, &["us-east-1"]));
        let head = &page[page.find("<head>").unwrap()..];
        assert!(
            head["<head>\n".len()..].starts_with(CSP),
            "the CSP comes first"
        );
        let lower = page.to_lowercase();
        for bad in [
            "http:",
            "https:",
            "src=",
            "href=",
            "url(",
            "@import",
            "<link",
            "<img",
            "<iframe",
            "fetch(",
            "xmlhttprequest",
            "import(",
        ] {
            assert!(!lower.contains(bad), "the page contains {bad:?}");
        }
    }

    #[test]
    fn an_empty_run_still_renders() {
        let page = render(&RunMeta::default(), &[]);
        assert!(page.contains("<b>0</b> targets<small>0 accounts × 0 regions</small>"));
        assert!(embedded(&page).is_empty());
    }

    #[test]
    fn every_status_has_a_look_and_a_class() {
        for s in STATUSES {
            assert!(STYLE.contains(&format!(".status-{}", s.as_str())) || look(s).0 == Tone::Other);
        }
        let distinct: BTreeSet<_> = STATUSES.iter().collect();
        assert_eq!(distinct.len(), STATUSES.len());
    }

    #[test]
    fn a_fleet_of_17000_targets_stays_small_and_quick() {
        let regions = [
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "ca-central-1",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-central-1",
            "eu-north-1",
            "ap-south-1",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "sa-east-1",
        ];
        let mut rows = fleet(1000, &regions);
        for (i, r) in rows.iter_mut().enumerate() {
            // Distinct hashes and realistic errors, so the dictionary does not flatter the size.
            if r.status == Status::Failed {
                r.error_code = "AccessDenied".into();
                r.error_message = format!(
                    "User: arn:aws:sts::{}:assumed-role/OrganizationAccountAccessRole/ssm-prefs is not authorized to perform: ssm:GetDocument",
                    r.account_id
                );
            }
            if i % 3 == 0 {
                r.content_sha256 = format!("{:064x}", i * 7919);
            }
        }
        let started = std::time::Instant::now();
        let page = render(&meta(), &rows);
        let took = started.elapsed();
        eprintln!(
            "17,000 rows: {} bytes ({:.2} MB), rendered in {took:?}",
            page.len(),
            page.len() as f64 / 1e6
        );
        assert!(page.len() < 5_000_000, "{} bytes", page.len());
        assert!(took.as_secs_f64() < 5.0, "render took {took:?}");
        assert_eq!(embedded(&page).len(), 17_000);
    }
}
