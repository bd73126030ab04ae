//! The self-contained HTML report (`--html`): run metadata, counts, an accounts × regions
//! matrix coloured by status, and the full table with a filter; printed, the auditor's
//! evidence (docs/usage.md, `--html`). No network fetch of any kind.
//!
//! One file an auditor opens from disk: inline CSS and JS only (`html.css` and `html.js`
//! beside this file, embedded at build time), under a CSP that forbids every fetch
//! (`default-src 'none'`). The header, the counts and the legend are rendered here, so
//! they read even with JavaScript off; the matrix and the table are built in the browser from
//! the rows, embedded once as JSON in `<script type="application/json" id="data">`.
//!
//! The embedded data is dictionary-encoded to keep a 17,000-target page small (about 1.5 MB):
//! `{"columns": [the CSV report's columns], "strings": [every distinct text value],
//! "rows": [[one value per column]], "glyphs": {status: glyph}, "order": [statuses, worst
//! first], "quiet": [statuses of targets as intended], "excused": [reasons that excuse a
//! skip]}`, where a row's value is an index into `strings`, except `attempts` and
//! `duration_ms`, which are numbers. `quiet` and `excused` tell the page which targets it may
//! count instead of listing at scale (the matrix past 200 accounts, the printout past 1,000
//! targets). `<`, `>` and `&` are written as `\u003c`, `\u003e`, `\u0026` inside the JSON, so
//! no value (account names are user data) can close the script element; the page's JS only
//! ever puts values into the DOM through `textContent`, `title` and `dataset`, never as markup.
//!
//! The page's own script chooses what it shows: on screen, a table of six one-line columns
//! that fits 1,280 px (a row's other fields in the Target panel, which opens on the worst
//! target, or under the row when clicked); on paper, through the print stylesheet in
//! `html.css`, the header, the counts and the matrix, then every target (at scale, every one
//! that needs attention) whole, one row never split across pages.
//!
//! The page honours a URL fragment, for links and for the browser test: `#filter=TEXT` (the
//! filter box), `status=STATUS` (a quick filter), `select=ACCOUNT_ID:REGION` (open a target's
//! detail), joined with `&`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use askama::Template;
use strum::IntoEnumIterator;

use crate::files;

use crate::model::COLUMNS;
use crate::model::{Command, Reason, ReportRow, RunMeta, Status};
use crate::target::{AccountId, Region};
use crate::words::{count, plural};

/// Writes the page of these rows (one per target), gathered as the run went.
pub(crate) fn write(path: &Path, meta: &RunMeta, rows: &PageRows) -> std::io::Result<()> {
    files::replace(path, render_rows(meta, rows).as_bytes())
}

/// The colour family of a status: the report's statuses mapped to what an auditor reads.
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
fn statuses() -> Vec<Status> {
    let mut all: Vec<Status> = Status::iter().collect();
    all.sort_by_key(|s| severity_rank(*s));
    all
}

/// A status's place in [`statuses`]. Exhaustive, so a new status cannot go unplaced.
fn severity_rank(s: Status) -> u8 {
    match s {
        Status::Failed => 0,
        Status::Blocked => 1,
        Status::Missing => 2,
        Status::Drifted => 3,
        Status::WouldCreate => 4,
        Status::WouldUpdate => 5,
        Status::Skipped => 6,
        Status::Created => 7,
        Status::Updated => 8,
        Status::Restored => 9,
        Status::Deleted => 10,
        Status::Kept => 11,
        Status::Unchanged => 12,
        Status::Compliant => 13,
    }
}

/// Whether a target of this status is as intended, or done with nothing left to do (a
/// rollback's `deleted`): what a large page counts by region instead of listing. Exhaustive, so
/// a new status is placed. `skipped` is quiet only with a reason that excuses it (the page's
/// `excused`), and any status with a blocking finding needs attention (the failure rule).
fn quiet(s: Status) -> bool {
    match s {
        Status::Compliant
        | Status::Unchanged
        | Status::Created
        | Status::Updated
        | Status::Restored
        | Status::Deleted => true,
        Status::Failed
        | Status::Blocked
        | Status::Missing
        | Status::Drifted
        | Status::WouldCreate
        | Status::WouldUpdate
        | Status::Skipped
        | Status::Kept => false,
    }
}

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
        Status::Blocked => (Tone::Bad, "⊘"),
        Status::Kept => (Tone::Other, "◦"),
    }
}

/// The page: the markup is the template below, every `{{ value }}` HTML-escaped by askama
/// (run metadata is user data); only the page's own CSS, script and JSON go in as they are.
#[derive(Template)]
#[template(
    ext = "html",
    source = r##"<!doctype html>
<html lang="en">
<head>
{{ csp|safe }}
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssm-prefs {{ command }} report: {{ targets }}</title>
<style>{{ style|safe }}</style>
</head>
<body>
<header>
<h1>ssm-prefs {{ command }} report</h1>
<dl class="meta">
{% for (label, value, class) in items -%}
<div class="{{ class }}"><dt>{{ label }}</dt><dd class="mono">{{ value }}</dd></div>
{% endfor -%}
</dl>
</header>
<main>
<section id="summary" aria-label="summary">
<div class="card total"><b>{{ total }}</b> {{ total_noun }}<small>{{ accounts }} × {{ regions }}</small></div>
{% for c in cards -%}
<div class="card {{ c.tone }}" data-status="{{ c.status }}"><b>{{ c.n }}</b><span class="g">{{ c.glyph }}</span> {{ c.status }}<small>{{ c.percent }}%</small></div>
{% endfor -%}
</section>
{% if !waves.is_empty() -%}
<section id="waves" aria-label="waves">
<h2>Waves</h2>
<ol>
{% for (w, accounts, targets, line) in waves -%}
<li value="{{ w }}">{{ accounts }}, {{ targets }}: {{ line }}</li>
{% endfor -%}
</ol>
</section>
{% endif -%}
<section id="legend" aria-label="legend">
{% for group in legend -%}
<span class="legend-group"><span class="sw {{ group.class }}"></span>{{ group.meaning }}:{% for (status, glyph) in group.chips %} <span class="chip status-{{ status }}">{{ glyph }}</span>&nbsp;{{ status }}{% endfor %}</span>
{% endfor -%}
<span class="legend-group"><span class="chip none"></span>&nbsp;not a target</span>
</section>
<noscript><p class="note">The matrix and the table need JavaScript; the CSV report holds every row.</p></noscript>
<section id="overview">
<div id="matrix-side"><p id="matrix-note"></p>
<div id="matrix-wrap" aria-label="accounts × regions"><div id="matrix"></div></div></div>
<aside id="detail" aria-live="polite"><h2>Target</h2><p class="hint">Click a cell of the matrix or a row of the table to see that target here; hover a cell for a summary.</p></aside>
</section>
<section id="by-region" hidden></section>
<section id="rows">
<div class="toolbar">
<input id="filter" type="search" placeholder="Filter rows: account, region, status, input, error… (all words must match)" aria-label="filter rows" autocomplete="off">
<span id="quick" role="group" aria-label="filter by status"></span>
</div>
<p id="count" aria-live="polite"></p>
<div id="table-wrap"><table id="table"><thead></thead><tbody></tbody></table></div>
<p class="more"><button type="button" id="more">Show more</button> <button type="button" id="all">Show all</button></p>
</section>
<section id="print-rows"></section>
</main>
<script type="application/json" id="data">{{ data|safe }}</script>
<script>{{ script|safe }}</script>
</body>
</html>
"##
)]
struct Page<'a> {
    /// First in `<head>`, before anything that could fetch.
    csp: &'static str,
    style: &'static str,
    script: &'static str,
    command: &'a str,
    /// `3 targets`, for the title.
    targets: String,
    /// Label, value and the item's class.
    items: [(&'a str, &'a str, &'a str); 8],
    total: usize,
    total_noun: String,
    accounts: String,
    regions: String,
    cards: Vec<Card>,
    /// Each wave's number, accounts, targets and statuses, in wave order (with --waves).
    waves: Vec<(usize, String, String, String)>,
    legend: Vec<LegendGroup>,
    /// The rows' JSON, made safe inside a script element by [`data_json`].
    data: String,
}

/// A colour family in the legend.
struct LegendGroup {
    class: &'static str,
    meaning: &'static str,
    /// Its statuses, each with its glyph.
    chips: Vec<(&'static str, &'static str)>,
}

/// A status's count.
struct Card {
    tone: &'static str,
    status: &'static str,
    n: usize,
    glyph: &'static str,
    percent: String,
}

/// The whole page as one string.
#[cfg(test)]
pub(crate) fn render(meta: &RunMeta, rows: &[ReportRow]) -> String {
    let mut page = PageRows::default();
    for r in rows {
        page.add(r);
    }
    render_rows(meta, &page)
}

/// What the page needs of a run's rows, gathered one row at a time as targets finish: the
/// counts it shows, and the rows already dictionary-encoded (a few dozen bytes a target, not
/// the row), so a run with `--html` does not hold its rows.
pub(crate) struct PageRows {
    total: usize,
    counts: BTreeMap<Status, usize>,
    accounts: HashSet<AccountId>,
    regions: BTreeSet<Region>,
    /// With --waves: each wave's accounts and counts.
    waves: BTreeMap<usize, (HashSet<AccountId>, BTreeMap<Status, usize>)>,
    /// Every distinct text value, in first-seen order (the statuses first), and its index.
    strings: Vec<String>,
    index: HashMap<String, usize>,
    /// The encoded rows, comma-separated.
    encoded: String,
}

impl Default for PageRows {
    /// No row yet; the statuses are the first strings, so the most repeated values get the
    /// shortest indices.
    fn default() -> Self {
        let strings: Vec<String> = statuses()
            .into_iter()
            .map(|s| s.as_str().to_string())
            .collect();
        let index = strings
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        PageRows {
            total: 0,
            counts: BTreeMap::new(),
            accounts: HashSet::new(),
            regions: BTreeSet::new(),
            waves: BTreeMap::new(),
            strings,
            index,
            encoded: String::new(),
        }
    }
}

impl PageRows {
    /// The index of `s` in the strings, added on first sight.
    fn intern(&mut self, s: &str) -> usize {
        if let Some(i) = self.index.get(s) {
            return *i;
        }
        self.strings.push(s.to_string());
        self.index.insert(s.to_string(), self.strings.len() - 1);
        self.strings.len() - 1
    }

    /// One target's row.
    pub(crate) fn add(&mut self, r: &ReportRow) {
        self.total += 1;
        *self.counts.entry(r.status).or_default() += 1;
        self.accounts.insert(r.account_id.clone());
        self.regions.insert(r.region.clone());
        if let Some(w) = r.wave {
            let (accounts, statuses) = self.waves.entry(w).or_default();
            accounts.insert(r.account_id.clone());
            *statuses.entry(r.status).or_default() += 1;
        }
        let mut out = String::with_capacity(96);
        out.push('[');
        for t in [
            r.account_id.as_str(),
            r.account_name.as_str(),
            r.region.as_str(),
            r.document_name.as_str(),
            r.action.as_str(),
            r.status.as_str(),
            r.previous_version.as_str(),
            r.document_version.as_str(),
            r.content_sha256.as_str(),
            r.changed_inputs.as_str(),
            r.code().as_str(),
            r.error_message.as_str(),
        ] {
            let i = self.intern(t);
            let _ = write!(out, "{i},");
        }
        let started = self.intern(&r.started_at);
        let found = self.intern(&r.findings.to_string());
        let wave = self.intern(&r.wave.map(|w| w.to_string()).unwrap_or_default());
        let _ = write!(
            out,
            "{},{started},{},{found},{wave}",
            r.attempts, r.duration_ms
        );
        // The cell as the CSV writes it (its one serialization).
        let hub = serde_json::to_value(&r.security_hub)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        for t in [
            r.version_created_at.as_str(),
            r.version_author.as_str(),
            &r.pruned_versions.map(|n| n.to_string()).unwrap_or_default(),
            r.command.map(Command::as_str).unwrap_or_default(),
            r.changed_by.as_str(),
            r.changed_at.as_str(),
            &hub,
            &r.nodes.map(|n| n.to_string()).unwrap_or_default(),
            &r.nodes_at_risk.map(|n| n.to_string()).unwrap_or_default(),
        ] {
            let i = self.intern(t);
            let _ = write!(out, ",{i}");
        }
        out.push(']');
        if !self.encoded.is_empty() {
            self.encoded.push(',');
        }
        self.encoded.push_str(&out);
    }
}

/// The whole page as one string, from the rows gathered.
fn render_rows(meta: &RunMeta, rows: &PageRows) -> String {
    let total = rows.total;
    // A rollback's input is the apply report it undoes, not a preferences file.
    let (input, input_sha) = if meta.command.reads_a_report() {
        ("apply report undone", "apply report sha256")
    } else {
        ("preferences", "preferences sha256")
    };
    let cards = statuses()
        .into_iter()
        .filter_map(|s| {
            let n = *rows.counts.get(&s)?;
            let (tone, glyph) = look(s);
            Some(Card {
                tone: tone.class(),
                status: s.as_str(),
                n,
                glyph,
                percent: format!("{:.1}", 100.0 * n as f64 / total.max(1) as f64),
            })
        })
        .collect();
    // With --waves: each wave's counts, in wave order.
    let waves = rows
        .waves
        .iter()
        .map(|(w, (accounts, statuses))| {
            let line: Vec<String> = statuses
                .iter()
                .map(|(st, n)| format!("{} {n}", st.as_str()))
                .collect();
            (
                *w,
                count(accounts.len(), "account"),
                count(statuses.values().sum(), "target"),
                line.join(" · "),
            )
        })
        .collect();
    // Legend: every status by colour family.
    let legend = [Tone::Ok, Tone::Warn, Tone::Bad, Tone::Other]
        .into_iter()
        .map(|tone| {
            let chips = statuses()
                .into_iter()
                .filter(|s| look(*s).0 == tone)
                .map(|s| (s.as_str(), look(s).1))
                .collect();
            LegendGroup {
                class: tone.class(),
                meaning: tone.meaning(),
                chips,
            }
        })
        .collect();
    let page = Page {
        csp: CSP,
        style: STYLE,
        script: SCRIPT,
        command: meta.command.as_str(),
        targets: count(total, "target"),
        items: [
            ("command", meta.command_line.as_str(), "wide"),
            ("caller identity", meta.caller_arn.as_str(), ""),
            ("document", meta.document_name.as_str(), ""),
            ("started", meta.started_at.as_str(), ""),
            ("ended", meta.ended_at.as_str(), ""),
            (input, meta.input_path.as_str(), ""),
            (input_sha, meta.input_sha256.as_str(), ""),
            ("tool version", meta.tool_version.as_str(), ""),
        ],
        total,
        total_noun: plural(total, "target"),
        accounts: count(rows.accounts.len(), "account"),
        regions: count(rows.regions.len(), "region"),
        cards,
        waves,
        legend,
        data: data_json(rows),
    };
    page.render().expect("a page renders into a String")
}

/// The rows as the dictionary-encoded JSON of the module doc, safe inside a script element.
fn data_json(rows: &PageRows) -> String {
    let mut out = String::with_capacity(rows.encoded.len() + 1024);
    out.push_str("{\"columns\":");
    out.push_str(&serde_json::to_string(&*COLUMNS).expect("strings serialize"));
    out.push_str(",\"rows\":[");
    out.push_str(&rows.encoded);
    out.push_str("],\"strings\":");
    out.push_str(&serde_json::to_string(&rows.strings).expect("strings serialize"));
    let glyphs: BTreeMap<&str, &str> = statuses()
        .into_iter()
        .map(|s| (s.as_str(), look(s).1))
        .collect();
    out.push_str(",\"glyphs\":");
    out.push_str(&serde_json::to_string(&glyphs).expect("strings serialize"));
    let order: Vec<&str> = statuses().into_iter().map(Status::as_str).collect();
    out.push_str(",\"order\":");
    out.push_str(&serde_json::to_string(&order).expect("strings serialize"));
    // What the page may count instead of listing (at scale): a status of a target as
    // intended, and the reasons that excuse a skip (nothing to do there).
    let quiet: Vec<&str> = statuses()
        .into_iter()
        .filter(|s| quiet(*s))
        .map(Status::as_str)
        .collect();
    out.push_str(",\"quiet\":");
    out.push_str(&serde_json::to_string(&quiet).expect("strings serialize"));
    let excused = [Reason::RegionNotEnabled, Reason::DeniedByScp].map(|r| r.to_string());
    out.push_str(",\"excused\":");
    out.push_str(&serde_json::to_string(&excused).expect("strings serialize"));
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

/// The page's first element: nothing on it may fetch anything.
pub const CSP: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">";

/// What the page's own markup, style and script never hold (lower case): whatever could
/// fetch something, the CSP aside. The unit tests and the browser's test (tests/e2e/html.rs)
/// hold the page to it.
pub const FETCHES: &[&str] = &[
    "http:",
    "https:",
    "src=",
    "href=",
    "url(",
    "@import",
    "<link",
    "<img",
    "<iframe",
    "<object",
    "<embed",
    "fetch(",
    "xmlhttprequest",
    "websocket",
    "import(",
];

const STYLE: &str = include_str!("html.css");

const SCRIPT: &str = include_str!("html.js");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Action;
    use serde_json::Value;

    fn row(i: usize, region: &str, status: Status) -> ReportRow {
        ReportRow {
            account_id: format!("{:012}", 100_000_000_000usize + i).parse().unwrap(),
            account_name: format!("account-{i}"),
            region: region.parse().unwrap(),
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
            attempts: 1,
            started_at: format!("2025-01-02T03:04:{:02}.{:03}Z", i % 60, i % 1000),
            duration_ms: 40 + i as u64 % 300,
            ..ReportRow::empty()
        }
    }

    fn meta() -> RunMeta {
        RunMeta {
            command: Command::Audit,
            tool_version: "0.1.0".into(),
            command_line: "ssm-prefs audit -i inv.yml -p prefs.json --external-id <redacted>"
                .into(),
            caller_arn: "arn:aws:iam::123456789012:user/auditor".into(),
            started_at: "2025-01-02T03:04:05.000Z".into(),
            ended_at: "2025-01-02T03:05:05.000Z".into(),
            input_path: "prefs/a&b.json".into(),
            input_sha256: "ab".repeat(32),
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
        m.command_line =
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
        // askama's escaper writes character references by number.
        assert!(page.contains("arn:aws:sts::1:assumed-role/&#60;/script&#62;&#60;img src=x"));
        assert!(page.contains("--html &#39;&#60;b&#62;x&#60;/b&#62;&#39;"));
        assert!(page.contains("-i &#34;a b&#34;.yml"));
        assert!(page.contains("prefs/a&#38;b.json"));
        assert!(page.contains("--external-id &#60;redacted&#62;"));
        // Yet the data reads back exactly.
        let back = embedded(&page);
        assert_eq!(back[0]["account_name"], evil);
        assert_eq!(back[0]["error_message"], r.error_message.as_str());
    }

    #[test]
    fn one_matrix_entry_per_row() {
        let mut rows = fleet(5, &["us-east-1", "eu-west-1", "ap-southeast-2"]);
        rows[1].security_hub = crate::model::HubDelivery::Delivered;
        rows[1].changed_by = "arn:aws:iam::1:user/someone".into();
        let page = render(&meta(), &rows);
        let back = embedded(&page);
        assert_eq!(back.len(), rows.len());
        assert_eq!(back[1]["security_hub"], "delivered");
        assert_eq!(back[1]["changed_by"], rows[1].changed_by.as_str());
        assert_eq!(back[0]["security_hub"], "");
        for (r, b) in rows.iter().zip(&back) {
            assert_eq!(b.len(), COLUMNS.len(), "a value for every column");
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
        for bad in FETCHES {
            assert!(!lower.contains(bad), "the page contains {bad:?}");
        }
    }

    #[test]
    fn an_empty_run_still_renders() {
        let page = render(&RunMeta::new(Command::Audit), &[]);
        assert!(page.contains("<b>0</b> targets<small>0 accounts × 0 regions</small>"));
        assert!(embedded(&page).is_empty());
    }

    #[test]
    fn every_status_has_a_look_and_a_class() {
        for s in statuses() {
            assert!(STYLE.contains(&format!(".status-{}", s.as_str())) || look(s).0 == Tone::Other);
        }
        let distinct: BTreeSet<_> = statuses().into_iter().map(severity_rank).collect();
        assert_eq!(distinct.len(), statuses().len());
    }

    #[test]
    fn what_a_page_counts_instead_of_listing_never_fails_a_run() {
        for s in statuses() {
            assert!(!(quiet(s) && s.is_failure()), "{s:?}");
        }
        let page = render(&meta(), &fleet(1, &["us-east-1"]));
        let start = page.find("id=\"data\">").unwrap() + 10;
        let data: Value =
            serde_json::from_str(&page[start..start + page[start..].find("</script>").unwrap()])
                .unwrap();
        for code in data["excused"].as_array().unwrap() {
            assert!(Reason::from_code(code.as_str().unwrap()).excuses_skip());
        }
        assert_eq!(data["quiet"][0], "created");
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
                r.error_code = Some(crate::model::Reason::from_code("AccessDenied"));
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
        assert!(page.len() < 5_000_000, "{} bytes", page.len());
        assert!(took.as_secs_f64() < 5.0, "render took {took:?}");
        assert_eq!(embedded(&page).len(), 17_000);
    }
}
