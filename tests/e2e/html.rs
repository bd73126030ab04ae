//! `--html`: the page of a real audit, opened in headless Chromium. The matrix has one cell per
//! target with its status, the filter works, user data stays text, nothing is fetched, the
//! table needs no sideways scroll at 1,280 px, the Target panel opens on the worst target, the
//! page printed to PDF (read back with poppler's pdftotext) holds every target whole, and a
//! 17,000-target page opens in seconds.
//!
//! The renderer is private to the binary, so the pages come from the real binary against the
//! emulator. A 17,000-target audit against moto would take minutes, so the large pages are the
//! small page with its embedded data replaced by synthetic rows of the same shape (documented
//! in src/report/html.rs); the Rust side's size and speed at that scale are a unit test there.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::fixtures::*;
use crate::support::fleet::Fleet;
use crate::support::proxy::Proxy;

use ssm_prefs::report::html::{CSP, FETCHES};
const DATA_OPEN: &str = "<script type=\"application/json\" id=\"data\">";
/// An account name that runs script if any part of the page treats data as markup.
const EVIL: &str = "</script><img src=x onerror=document.body.setAttribute('data-pwned',1)>";

/// The Chromium or Chrome that scripts/test.sh found (`CHROME`), else one on PATH; its absence
/// fails the test.
fn chromium() -> PathBuf {
    if let Some(chrome) = std::env::var_os("CHROME").filter(|c| !c.is_empty()) {
        return PathBuf::from(chrome);
    }
    let names = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .flat_map(|d| names.map(|n| d.join(n)))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| {
            panic!(
                "no Chromium or Chrome, and the HTML report's browser test needs one: run \
                 scripts/test.sh (it finds one, installs Debian's as root, or names what to \
                 install), or set CHROME to its path"
            )
        })
}

/// What headless Chromium printed for a page, and how long it took from start to exit.
struct Browsed {
    stdout: String,
    took: Duration,
}

/// Opens `url` in a fresh headless Chromium with no network features, lets its scripts run,
/// and returns what `extra` (`--dump-dom` or `--screenshot=…`) produced.
fn browse(url: &str, extra: &[&str]) -> Browsed {
    let profile = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // Waited on, not polled: a thread waits for the exit and says it; on time out the
    // process (ours, not yet reaped, so its id is still its own) is killed by its id.
    let pid = child.id();
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || exited.send(child.wait()));
    // Printing 200,000 targets' page takes minutes on a busy machine (docs/operations.md).
    let status = match exit.recv_timeout(Duration::from_secs(600)) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("chromium did not finish {url} within 600 s");
        }
    };
    let took = started.elapsed();
    let stdout = reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    assert!(
        status.success(),
        "chromium failed on {url} ({status}):\n{stderr}"
    );
    Browsed { stdout, took }
}

fn file_url(path: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", path.display())
}

/// The DOM after the page's scripts ran.
fn dom(path: &Path, fragment: &str) -> (String, Duration) {
    let b = browse(&file_url(path, fragment), &["--dump-dom"]);
    assert!(
        b.stdout.contains("data-render-ms="),
        "the page's script did not finish (a JS error?):\n{}",
        &b.stdout[..b.stdout.len().min(3000)]
    );
    (b.stdout, b.took)
}

/// The attributes of every element whose class attribute starts with `class_prefix`.
fn elements(dom: &str, tag: &str, class_prefix: &str) -> Vec<BTreeMap<String, String>> {
    let open = format!("<{tag} class=\"{class_prefix}");
    let mut out = vec![];
    let mut rest = dom;
    while let Some(at) = rest.find(&open) {
        let tag_text = &rest[at + tag.len() + 1..];
        let end = tag_text.find('>').expect("a closed tag");
        out.push(attributes(&tag_text[..end]));
        rest = &tag_text[end..];
    }
    out
}

/// `name="value"` pairs of a serialized tag (values of Chromium's serializer are quoted).
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = tag.trim();
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let value_end = rest[eq + 2..].find('"').expect("a closed value");
        let value = &rest[eq + 2..eq + 2 + value_end];
        out.insert(name, value.replace("&quot;", "\"").replace("&amp;", "&"));
        rest = &rest[eq + 2 + value_end + 1..];
    }
    out
}

/// The first value of `attr` in the DOM, as a number.
fn attr_number(dom: &str, attr: &str) -> u64 {
    let key = format!("{attr}=\"");
    let at = dom
        .find(&key)
        .unwrap_or_else(|| panic!("no {attr} in the DOM"));
    let rest = &dom[at + key.len()..];
    rest[..rest.find('"').unwrap()].parse().unwrap()
}

/// poppler's pdftotext, which scripts/prerequisites.sh installs; its absence fails the test.
fn pdftotext() -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("pdftotext"))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| {
            panic!(
                "no pdftotext, and the printed page's test reads the PDF with it: run \
                 scripts/test.sh (it installs Debian's poppler-utils as root, or names what to \
                 install)"
            )
        })
}

/// A page printed by Chromium's Print to PDF, read back.
struct Printed {
    /// `pdftotext -layout`: the pages, each line as laid out.
    pages: Vec<String>,
    /// Words whose box reaches past the page's edge (`pdftotext -bbox`): clipped text.
    outside: Vec<String>,
    bytes: usize,
    took: Duration,
}

impl Printed {
    fn text(&self) -> String {
        self.pages.join("\n")
    }

    /// The printed table's rows: each starts on a line that opens, at the page's left edge,
    /// with a 12-digit account id (the matrix's and the region table's lines open with a name
    /// or a region; a hash wrapped in its cell is indented) and runs to the next such line or
    /// the end of its page. A row split across pages would leave lines between the table's
    /// header, repeated atop every page, and the page's first row: `continued` lists them.
    fn rows(&self) -> (Vec<(String, String)>, Vec<String>) {
        let mut rows: Vec<(String, String)> = vec![];
        let mut continued = vec![];
        for page in &self.pages {
            let mut in_table = false;
            let mut current: Option<(String, String)> = None;
            for line in page.lines() {
                let t = line.trim_start();
                let id: String = t.chars().take_while(char::is_ascii_digit).collect();
                let at_edge = line.len() - t.len() < 4 && t[id.len()..].starts_with(' ');
                if t.starts_with("target") && t.contains("what differs") {
                    in_table = true;
                } else if id.len() == 12 && at_edge && in_table {
                    rows.extend(current.take());
                    current = Some((id, format!("{line}\n")));
                } else if let Some((_, text)) = current.as_mut() {
                    text.push_str(line);
                    text.push('\n');
                } else if in_table && !t.is_empty() {
                    continued.push(t.to_string());
                }
            }
            rows.extend(current.take());
        }
        (rows, continued)
    }
}

/// Prints the page at `path` to PDF as a user's Print to PDF does (no header or footer line),
/// and reads the PDF back.
fn print_pdf(path: &Path, pdf: &Path) -> Printed {
    let b = browse(
        &file_url(path, ""),
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    let bytes = std::fs::read(pdf)
        .unwrap_or_else(|e| panic!("no PDF ({e}): {}", b.stdout))
        .len();
    let text = |args: &[&str]| {
        let out = Command::new(pdftotext())
            .args(args)
            .arg(pdf)
            .arg("-")
            .output()
            .expect("pdftotext runs");
        assert!(out.status.success(), "pdftotext {args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("pdftotext writes UTF-8")
    };
    let pages = text(&["-layout", "-enc", "UTF-8"])
        .split('\u{c}')
        .map(str::to_string)
        .collect();
    // `<page width=".." height="..">` then `<word xMin=".." yMin=".." xMax=".." yMax="..">w</word>`.
    let bbox = text(&["-bbox", "-enc", "UTF-8"]);
    let mut outside = vec![];
    let (mut width, mut height) = (0.0, 0.0);
    for tag in bbox.split('<').skip(1) {
        let number = |name: &str| -> f64 {
            let key = format!("{name}=\"");
            let at = tag.find(&key).unwrap_or_else(|| panic!("{name} in <{tag}")) + key.len();
            tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
        };
        if tag.starts_with("page ") {
            (width, height) = (number("width"), number("height"));
        } else if tag.starts_with("word ") {
            let (x0, y0, x1, y1) = (
                number("xMin"),
                number("yMin"),
                number("xMax"),
                number("yMax"),
            );
            if x0 < 0.0 || y0 < 0.0 || x1 > width || y1 > height {
                outside.push(tag[tag.find('>').unwrap() + 1..].to_string());
            }
        }
    }
    Printed {
        pages,
        outside,
        bytes,
        took: b.took,
    }
}

/// The page without its embedded data and without the text of `known` values: what is left is
/// the page's own markup, CSS and JS.
fn own_code(page: &str, known: &[&str]) -> String {
    let start = page.find(DATA_OPEN).expect("the data block") + DATA_OPEN.len();
    let end = start + page[start..].find("</script>").unwrap();
    let mut own = format!("{}{}", &page[..start], &page[end..]);
    for k in known {
        own = own.replace(k, "");
    }
    own
}

fn data_block(page: &str) -> (usize, usize) {
    let start = page.find(DATA_OPEN).expect("the data block") + DATA_OPEN.len();
    (start, start + page[start..].find("</script>").unwrap())
}

async fn drift(url: &str, account: &str, region: &str) {
    let mut doc = desired();
    doc["inputs"]["s3BucketName"] = json!("someone-else");
    doc["inputs"]["idleSessionTimeout"] = json!("60");
    add_version(url, account, region, &doc.to_string(), true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_html_report_in_a_browser() {
    chromium(); // before any emulator work: fail fast, with the fix
    let ids = accounts(6);
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let names: Vec<String> = (0..ids.len())
        .map(|i| match i {
            2 => EVIL.to_string(),
            _ => format!("payments-{i}"),
        })
        .collect();
    let inv = named_inventory(&ids, &names, &regions);
    let f = Fleet::with_files(ids, &regions, &inv, &desired().to_string());
    let (url, ids, dir, inv, prefs, proxy) = f.parts();
    let out = run("apply", &proxy, &inv, &prefs, &dir.path("apply.csv"), &[]);
    assert_eq!(out.code, 0, "{}", out.all());

    // Behind the tool's back: two drifted, two missing, and one account we can no longer enter.
    drift(&url, &ids[0], "us-east-1").await;
    drift(&url, &ids[2], "eu-west-1").await;
    for (i, region) in [(1, "us-east-1"), (3, "ap-southeast-2")] {
        delete_doc(&url, &ids[i], region).await;
    }
    proxy.deny_assume_role(&ids[5]);

    let report = dir.path("audit.csv");
    let html_path = dir.path("out/audit.html");
    let extra = ["--html", html_path.to_str().unwrap()];
    let out = run("audit", &proxy, &inv, &prefs, &report, &extra);
    assert_eq!(out.code, 1, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), ids.len() * regions.len());
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for row in rows.values() {
        *by_status.entry(row["status"].as_str()).or_default() += 1;
    }
    assert_eq!(
        by_status,
        BTreeMap::from([
            ("compliant", 11),
            ("drifted", 2),
            ("failed", 3),
            ("missing", 2)
        ]),
        "the fleet has the mix this test is about"
    );

    // The file: a strict CSP first in <head>, and nothing that could fetch. Data we put in
    // (the endpoint URL on the command line, the names) is the only text allowed to look like it.
    let page = std::fs::read_to_string(&html_path).expect("the --html file");
    let head = &page[page.find("<head>").expect("a head") + "<head>".len()..];
    assert!(head.trim_start().starts_with(CSP), "the CSP comes first");
    let own = own_code(&page, &[proxy.url.as_str()]).to_lowercase();
    for bad in FETCHES {
        assert!(!own.contains(bad), "the page's own code contains {bad:?}");
    }
    let (start, end) = data_block(&page);
    assert!(
        !page[start..end].contains(['<', '>']),
        "the embedded data cannot close its script element"
    );
    assert_eq!(
        page.matches("<script").count(),
        2,
        "only the page's own scripts"
    );
    assert!(page.contains(&format!("<b>{}</b> targets", rows.len())));

    // After the scripts ran: one matrix cell per target, with its status, and the data as text.
    let (dump, _) = dom(&html_path, "");
    assert!(
        !dump.contains("data-pwned=\""),
        "an account name ran as script"
    );
    assert!(!dump.contains("<img"), "an account name became markup");
    assert!(
        dump.contains("&lt;/script&gt;&lt;img src=x onerror="),
        "the hostile name is shown as text"
    );
    let cells = elements(&dump, "div", "cell ");
    assert_eq!(cells.len(), rows.len(), "one cell per target");
    let mut seen = BTreeMap::new();
    for c in &cells {
        let key = (c["data-account"].clone(), c["data-region"].clone());
        let row = rows
            .get(&key)
            .unwrap_or_else(|| panic!("a cell for no target: {c:?}"));
        let classes: Vec<&str> = c["class"].split_whitespace().collect();
        assert!(
            classes.contains(&format!("status-{}", row["status"]).as_str()),
            "{key:?}: {c:?} vs {}",
            row["status"]
        );
        assert_eq!(
            classes.iter().filter(|k| k.starts_with("status-")).count(),
            1
        );
        // The hover text names the target, its status and what changed.
        let title = &c["title"];
        assert!(
            title.contains(&key.0) && title.contains(&key.1) && title.contains(&row["status"]),
            "{title}"
        );
        if row["status"] == "drifted" {
            assert!(title.contains("s3BucketName"), "{title}");
        }
        if row["status"] == "failed" {
            assert!(title.contains(&row["error_code"]), "{title}");
        }
        assert!(seen.insert(key, ()).is_none(), "two cells for one target");
    }
    assert_eq!(
        elements(&dump, "tr", "row").len(),
        rows.len(),
        "a small fleet's table shows every row"
    );

    // The filter, driven through the URL fragment the page honours.
    for (fragment, want) in [
        ("#filter=drifted", by_status["drifted"]),
        ("#status=missing", by_status["missing"]),
        ("#status=failed", by_status["failed"]),
        ("#filter=payments-4%20eu-west-1", 1),
        ("#filter=PAYMENTS-4+Ap-Southeast-2", 1),
        ("#filter=payments&status=drifted", 1),
        ("#filter=no-such-thing", 0),
    ] {
        let (dump, _) = dom(&html_path, fragment);
        let shown = elements(&dump, "tr", "row");
        assert_eq!(shown.len(), want, "{fragment}: rows shown");
        assert_eq!(
            attr_number(&dump, "data-matching"),
            want as u64,
            "{fragment}"
        );
        let dim = elements(&dump, "div", "cell ")
            .iter()
            .filter(|c| c["class"].split_whitespace().any(|k| k == "dim"))
            .count();
        assert_eq!(
            dim,
            rows.len() - want,
            "{fragment}: the matrix dims what does not match"
        );
    }

    // The Target panel opens on the worst target: a failed one (payments-5's role is denied).
    let (dump, _) = dom(&html_path, "");
    let panel = &dump[dump.find("<aside id=\"detail\"").expect("the Target panel")..];
    let panel = &panel[..panel.find("</aside>").unwrap()];
    assert!(
        panel.contains(&ids[5]) && panel.contains("badge status-failed"),
        "the panel opens on a failed target: {panel}"
    );
    // Values the same in every row are said once, in the header, and not per target.
    assert!(dump.contains(&format!("<dt>document</dt><dd class=\"mono\">{DOC}</dd>")));
    for shared in ["document_name", "command"] {
        assert!(
            !panel.contains(&format!("<dt>{shared}</dt>")),
            "{shared} in the panel: {panel}"
        );
    }

    // A drifted target's other fields, in the panel the URL opens it in: what differs, its
    // versions and its hash.
    let drifted = &rows[&(ids[0].clone(), "us-east-1".to_string())];
    assert_eq!(drifted["status"], "drifted");
    let (dump, _) = dom(&html_path, &format!("#select={}:us-east-1", ids[0]));
    let panel = &dump[dump.find("<aside id=\"detail\"").expect("the Target panel")..];
    let panel = &panel[..panel.find("</aside>").unwrap()];
    for (field, value) in [
        ("changed_inputs", "s3BucketName, idleSessionTimeout"),
        ("document_version", drifted["document_version"].as_str()),
        ("content_sha256", drifted["content_sha256"].as_str()),
    ] {
        assert!(
            panel.contains(&format!("<dt>{field}</dt>"))
                && panel.contains(&format!(">{value}</dd>")),
            "{field} {value} in the panel: {panel}"
        );
    }

    // At 1,280 px, measured by the page itself: nothing scrolls sideways, and a row is one
    // line, its long message cut with its full text in the cell's title.
    let laptop = browse(
        &file_url(&html_path, ""),
        &["--window-size=1280,900", "--dump-dom"],
    )
    .stdout;
    let width = attr_number(&laptop, "data-width");
    assert!((1200..=1280).contains(&width), "the viewport is {width} px");
    assert_eq!(
        attr_number(&laptop, "data-overflow-x"),
        0,
        "the page scrolls sideways"
    );
    assert_eq!(
        attr_number(&laptop, "data-table-overflow-x"),
        0,
        "the table scrolls sideways"
    );
    let tallest = attr_number(&laptop, "data-row-height");
    assert!((10..=32).contains(&tallest), "a row is {tallest} px tall");
    let denied = rows
        .values()
        .find(|r| r["account_id"] == ids[5])
        .expect("a failed row");
    let why = format!("{}: {}", denied["error_code"], denied["error_message"]);
    assert!(why.len() > 100, "a long message: {why}");
    assert!(
        elements(&laptop, "td", "why")
            .iter()
            .any(|td| td.get("title") == Some(&why)),
        "the full message is the cell's title: {why}"
    );

    // Printed to PDF: the header, the counts and the matrix first, then every target whole:
    // its id, region and status, and for a drifted one what differs and its version. No
    // button or filter, no word past the page's edge.
    let printed = print_pdf(&html_path, &dir.path("audit.pdf"));
    let text = printed.text();
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s:?} is not in the PDF:\n{text}"))
    };
    assert!(at("ssm-prefs audit report") < at("caller identity"));
    assert!(at("caller identity") < at("18 targets"));
    assert!(at("18 targets") < at("6 accounts × 3 regions"));
    assert!(at("6 accounts × 3 regions") < at("Every target, the worst first"));
    for gone in [
        "Show more",
        "Show all",
        "Filter rows",
        "Click a cell",
        "all (18)",
    ] {
        assert!(!text.contains(gone), "{gone:?} is printed");
    }
    assert!(printed.outside.is_empty(), "clipped: {:?}", printed.outside);
    let (printed_rows, continued) = printed.rows();
    assert!(
        continued.is_empty(),
        "a row split across pages: {continued:?}"
    );
    assert_eq!(printed_rows.len(), rows.len(), "one printed row per target");
    for ((id, region), row) in &rows {
        let (_, block) = printed_rows
            .iter()
            .find(|(i, b)| i == id && b.contains(region.as_str()))
            .unwrap_or_else(|| panic!("{id} {region} is not printed:\n{text}"));
        assert!(block.contains(&row["status"]), "{id} {region}: {block}");
        if row["status"] == "drifted" {
            for input in ["s3BucketName", "idleSessionTimeout"] {
                assert!(block.contains(input), "{id} {region}: {block}");
            }
            let version = format!("version {}", row["document_version"]);
            assert!(block.contains(&version), "{id} {region}: {block}");
            assert!(
                block.contains(&row["content_sha256"][..16]),
                "{id} {region}: {block}"
            );
        }
        if row["status"] == "failed" {
            assert!(block.contains(&row["error_code"]), "{id} {region}: {block}");
        }
    }

    // A look at it: the screenshot is kept in the test's dir (the README's picture comes from
    // the demo's audit, by scripts/screenshot.sh, not from this fixture's hostile names).
    let shot = dir.path("audit-report.png");
    let selected = format!("#select={}:us-east-1", ids[0]);
    let b = browse(
        &file_url(&html_path, &selected),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1000",
        ],
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {}", b.stdout));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000);

    // At scale: this page with 17,000 synthetic targets (1,000 accounts × 17 regions) in place
    // of its data, same shape: columns, a string table, rows of indices.
    let big = with_synthetic_rows(&page, 1000, 17);
    let big_path = dir.path("big.html");
    std::fs::write(&big_path, &big).unwrap();
    let (empty, baseline) = dom(
        &dir.write("empty.html", &with_synthetic_rows(&page, 1, 1)),
        "",
    );
    assert_eq!(elements(&empty, "div", "cell ").len(), 1);
    let (dump, took) = dom(&big_path, "");
    let script_ms = attr_number(&dump, "data-render-ms");
    let ready_ms = attr_number(&dump, "data-ready-ms");
    eprintln!(
        "17,000 targets: {} bytes ({:.2} MB); chromium {took:?} for the page vs {baseline:?} for a \
         one-target page; the page's script {script_ms} ms, ready {ready_ms} ms after navigation",
        big.len(),
        big.len() as f64 / 1e6,
    );
    assert!(big.len() < 5_000_000, "{} bytes", big.len());
    // Every account has a target that needs attention: the matrix shows the 500 worst, and
    // counts the other 500 in a row.
    let cells = elements(&dump, "div", "cell ");
    let targets = cells.iter().filter(|c| c.contains_key("data-account"));
    assert_eq!(targets.count(), 500 * 17);
    assert_eq!(cells.len(), 500 * 17 + 17, "and a row of counts");
    assert!(dump.contains("500 more accounts that need attention"));
    assert_eq!(attr_number(&dump, "data-matching"), 17_000);
    // Every synthetic row's action is `none`: said once, in the header.
    let same = &dump[dump
        .find("id=\"same\"")
        .expect("a line for what every row shares")..];
    assert!(same[..same.find("</div>").unwrap()].contains("action none"));
    let shown = elements(&dump, "tr", "row").len();
    assert!(
        (1..=1000).contains(&shown),
        "the table shows a first page, not 17,000 rows: {shown}"
    );
    assert!(ready_ms < 10_000, "the page took {ready_ms} ms to be ready");

    // At scale, three in a hundred targets not as intended: the screen's matrix and the
    // printout list what needs attention, and count the rest.
    let figures = at_scale(&page, &dir);
    eprintln!("{figures}");
}

/// Three in a hundred targets drifted, missing or failed; the rest compliant.
fn sparse(a: usize, g: usize) -> &'static str {
    match (a * 7 + g * 13) % 100 {
        0 => "drifted",
        1 => "missing",
        2 => "failed",
        _ => "compliant",
    }
}

/// A page of `SSM_PREFS_HTML_SCALE` targets (`ACCOUNTSxREGIONS`; 1000x20 unless set: a
/// printout of some 50 pages), opened and printed, and checked; the figures of
/// docs/operations.md come from `SSM_PREFS_HTML_SCALE=10000x20` (200,000 targets): the page's
/// size, and the time to open it and to print it, against a one-target page's in the same run.
fn at_scale(page: &str, dir: &Dir) -> String {
    let scale = std::env::var("SSM_PREFS_HTML_SCALE").unwrap_or_else(|_| "1000x20".into());
    let (accounts, regions) = scale
        .split_once('x')
        .and_then(|(a, r)| Some((a.parse::<usize>().ok()?, r.parse::<usize>().ok()?)))
        .unwrap_or_else(|| {
            panic!("SSM_PREFS_HTML_SCALE={scale}: want ACCOUNTSxREGIONS, e.g. 10000x20")
        });
    assert!(
        accounts > 200,
        "SSM_PREFS_HTML_SCALE={scale}: more than 200 accounts, or the matrix shows them all"
    );
    let built = Instant::now();
    let text = synthetic(page, accounts, regions, sparse);
    let built = built.elapsed();
    let path = dir.write("huge.html", &text);
    let one = print_pdf(
        &dir.write("one.html", &synthetic(page, 1, 1, sparse)),
        &dir.path("one.pdf"),
    );
    let (dump, opened) = dom(&path, "");
    let attention = (0..accounts)
        .flat_map(|a| (0..regions).map(move |g| sparse(a, g)))
        .filter(|s| *s != "compliant")
        .count();
    assert!(attention > 0 && attention < accounts * regions / 10);
    assert_eq!(attr_number(&dump, "data-attention"), attention as u64);
    // The matrix: the accounts that need attention, and one row for the rest.
    let cells = elements(&dump, "div", "cell ");
    let shown: BTreeSet<&str> = cells
        .iter()
        .filter_map(|c| c.get("data-account").map(String::as_str))
        .collect();
    assert!(shown.len() <= 500, "{} accounts in the matrix", shown.len());
    assert!(dump.contains("more accounts: all as intended"));
    let printed = print_pdf(&path, &dir.path("huge.pdf"));
    let text = printed.text();
    assert!(
        text.contains(&format!(
            "The {} targets that need attention",
            thousands(attention)
        )),
        "{}",
        &text[..text.len().min(5000)]
    );
    assert!(
        printed.outside.is_empty(),
        "clipped: {:?}",
        &printed.outside[..printed.outside.len().min(20)]
    );
    let (printed_rows, continued) = printed.rows();
    assert!(
        continued.is_empty(),
        "a row split across pages: {continued:?}"
    );
    assert_eq!(
        printed_rows.len(),
        attention,
        "each target that needs attention in full"
    );
    assert!(printed_rows.iter().all(|(_, b)| !b.contains("compliant")));
    // The rest in counts: by region, and the warnings they carry.
    for g in 0..regions {
        let compliant = (0..accounts)
            .filter(|a| sparse(*a, g) == "compliant")
            .count();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("zz-region-{g} ")))
            .unwrap_or_else(|| panic!("no zz-region-{g} in the counts by region"));
        assert!(
            line.contains(&thousands(compliant)),
            "zz-region-{g}: {compliant} compliant: {line}"
        );
    }
    let warned = (0..accounts)
        .flat_map(|a| (1..regions).map(move |g| sparse(a, g)))
        .filter(|s| *s == "compliant")
        .count();
    assert!(
        text.contains(&format!(
            "BucketInOtherRegion on {} targets",
            thousands(warned)
        )),
        "the warnings in counts"
    );
    format!(
        "{} targets: the page {:.1} MB (built in {built:?}); opened (--dump-dom) in {opened:?}, \
         the page's script {} ms; printed to PDF in {:?} ({} pages, {:.1} MB) against {:?} for a \
         one-target page ({:.1}×)",
        thousands(accounts * regions),
        text_len(&path) as f64 / 1e6,
        attr_number(&dump, "data-render-ms"),
        printed.took,
        printed.pages.len(),
        printed.bytes as f64 / 1e6,
        one.took,
        printed.took.as_secs_f64() / one.took.as_secs_f64(),
    )
}

fn text_len(path: &Path) -> usize {
    std::fs::metadata(path).unwrap().len() as usize
}

/// 12,345 as the page writes it (`toLocaleString("en")`).
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An audit's statuses by (account, region), a fifth each of drifted, missing and failed.
fn mixed(a: usize, g: usize) -> &'static str {
    ["compliant", "compliant", "drifted", "missing", "failed"][(a + g) % 5]
}

/// `page` with its embedded data replaced by `accounts × regions` synthetic rows, every status
/// of an audit present and long error messages on the failed ones.
fn with_synthetic_rows(page: &str, accounts: usize, regions: usize) -> String {
    synthetic(page, accounts, regions, mixed)
}

/// As [`with_synthetic_rows`], each target's status from `status(account, region)`; a
/// compliant target outside the first region carries a warning, as the demo's central bucket
/// gives.
fn synthetic(
    page: &str,
    accounts: usize,
    regions: usize,
    status: fn(usize, usize) -> &'static str,
) -> String {
    let (start, end) = data_block(page);
    let data: Value = serde_json::from_str(&page[start..end]).expect("data is JSON");
    let columns: Vec<String> = serde_json::from_value(data["columns"].clone()).unwrap();
    let mut strings: Vec<String> = vec![];
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut intern = |s: String| -> usize {
        let next = index.len();
        *index.entry(s.clone()).or_insert_with(|| {
            strings.push(s);
            next
        })
    };
    let region_names: Vec<String> = (0..regions).map(|g| format!("zz-region-{g}")).collect();
    // Written as text, not as JSON values: 200,000 rows build in moments.
    let mut rows = String::with_capacity(accounts * regions * 80);
    for a in 0..accounts {
        for (g, region) in region_names.iter().enumerate() {
            let id = format!("{:012}", 900_000_000_000usize + a);
            let status = status(a, g);
            let warned = status == "compliant" && g > 0;
            rows.push(if rows.is_empty() { '[' } else { ',' });
            for (k, c) in columns.iter().enumerate() {
                let value = match c.as_str() {
                    "attempts" => 1,
                    "duration_ms" => 40 + (a * 7 + g) % 400,
                    c => intern(match c {
                        "account_id" => id.clone(),
                        "account_name" => format!("team-{a}-prod"),
                        "region" => region.clone(),
                        "document_name" => DOC.into(),
                        "action" => "none".into(),
                        "status" => status.into(),
                        "previous_version" | "document_version" => "3".into(),
                        "content_sha256" => format!("{:064x}", (a * 31 + g) % 97),
                        "changed_inputs" if status == "drifted" => {
                            "s3BucketName;idleSessionTimeout".into()
                        }
                        "error_code" if status == "failed" => "AccessDenied".into(),
                        "error_message" if status == "failed" => format!(
                            "User: arn:aws:sts::{id}:assumed-role/Hub/ssm-prefs is not authorized to perform: ssm:GetDocument"
                        ),
                        "error_code" if warned => "BucketInOtherRegion".into(),
                        "error_message" if warned => format!(
                            "BucketInOtherRegion: the bucket org-session-logs is in zz-region-0, not {region}: session logs cross regions"
                        ),
                        "findings" if warned => {
                            "BucketInOtherRegion(warning) org-session-logs".into()
                        }
                        "started_at" => {
                            format!("2025-01-02T03:{:02}:{:02}.{:03}Z", (a / 60) % 60, a % 60, g)
                        }
                        _ => String::new(),
                    }),
                };
                rows.push(if k == 0 { '[' } else { ',' });
                rows.push_str(&value.to_string());
            }
            rows.push(']');
        }
    }
    if rows.is_empty() {
        rows.push('[');
    }
    rows.push(']');
    let mut new = data.clone();
    new["rows"] = json!([]);
    new["strings"] = json!(strings);
    // As the renderer does: no `<`, `>` or `&` in the block.
    let text = new
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replacen("\"rows\":[]", &format!("\"rows\":{rows}"), 1);
    format!("{}{}{}", &page[..start], text, &page[end..])
}

/// `rollback --html`: after an apply that created some documents and updated others, the
/// rollback's page lists every rolled-back target with its status (`deleted` where the apply
/// created the document, `restored` where it updated it), in the matrix and in the table,
/// and the emulator shows the rollback really happened.
#[tokio::test(flavor = "multi_thread")]
async fn rollback_html_report_in_a_browser() {
    chromium(); // before any emulator work: fail fast, with the fix
    let regions = ["us-east-1", "eu-west-1"];
    let (url, ids, dir, inv, prefs, _) = Fleet::new(3, &regions).parts();
    // The first account holds the AWS page's example: apply updates it, rollback restores it.
    for region in regions {
        seed(&url, &ids[0], region, DOC, AWS_PAGE_EXAMPLE).await;
    }
    let proxy = Proxy::start(&url);
    let applied = dir.path("apply.csv");
    let out = run("apply", &proxy, &inv, &prefs, &applied, &[]);
    assert_eq!(out.code, 0, "{}", out.all());
    let apply_rows = rows_by_target(&applied);
    let expected: BTreeMap<(String, String), &str> = apply_rows
        .iter()
        .map(|(k, r)| {
            let want = match r["status"].as_str() {
                "updated" => "restored",
                "created" => "deleted",
                other => panic!("the apply left {other} at {k:?}: {r:?}"),
            };
            (k.clone(), want)
        })
        .collect();
    assert_eq!(expected.values().filter(|s| **s == "restored").count(), 2);
    assert_eq!(expected.values().filter(|s| **s == "deleted").count(), 4);

    proxy.clear();
    let report = dir.path("rollback.csv");
    let page_path = dir.path("out/rollback.html");
    let mut args = rollback_line(&applied, &report, &proxy.url);
    args.extend(["--html", page_path.to_str().unwrap()]);
    let out = ssm_prefs(args);
    assert_eq!(out.code, 0, "{}", out.all());
    let rows = rows_by_target(&report);
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
    for (key, want) in &expected {
        assert_eq!(rows[key]["status"], *want, "{key:?}: {:?}", rows[key]);
    }

    // The emulator: updated targets have their earlier version back as default, created
    // ones no document at all.
    for ((id, region), found) in read_all(&url, &ids, &regions, DOC).await {
        let key = (id.clone(), region.clone());
        match expected[&key] {
            "restored" => {
                let (version, content) =
                    found.unwrap_or_else(|| panic!("{key:?}: restored, yet no document"));
                assert_eq!(version, apply_rows[&key]["previous_version"], "{key:?}");
                assert_eq!(
                    content, AWS_PAGE_EXAMPLE,
                    "{key:?}: the seeded content is back"
                );
                assert_eq!(rows[&key]["document_version"], version, "{key:?}");
            }
            _ => assert!(found.is_none(), "{key:?}: deleted, yet {found:?}"),
        }
    }
    assert_eq!(proxy.count("UpdateDocumentDefaultVersion"), 2);
    // 4 documents the apply created, and the 2 versions it added to the updated targets
    // (deleted so that their default and latest version agree again).
    assert_eq!(proxy.count("DeleteDocument"), 6);

    // The page: written, the same strict CSP first, and the rollback's own counts.
    let page = std::fs::read_to_string(&page_path).unwrap_or_else(|e| {
        panic!(
            "no --html page at {} ({e}):\n{}",
            page_path.display(),
            out.all()
        )
    });
    let head = &page[page.find("<head>").expect("a head") + "<head>".len()..];
    assert!(head.trim_start().starts_with(CSP), "the CSP comes first");
    assert!(
        page.contains("ssm-prefs rollback report"),
        "the page names the command"
    );
    assert!(page.contains(&format!("<b>{}</b> targets", rows.len())));
    for (status, n) in [("restored", 2), ("deleted", 4)] {
        assert!(
            page.contains(&format!("data-status=\"{status}\"><b>{n}</b>")),
            "a count card: {n} {status}"
        );
    }
    assert!(
        page.contains(applied.to_str().unwrap()),
        "the page names the apply report it undid"
    );

    // After the scripts ran: one matrix cell and one table row per rolled-back target.
    let (dump, _) = dom(&page_path, "");
    let cells = elements(&dump, "div", "cell ");
    assert_eq!(cells.len(), expected.len(), "one cell per target");
    let mut seen = BTreeSet::new();
    for c in &cells {
        let key = (c["data-account"].clone(), c["data-region"].clone());
        let want = expected
            .get(&key)
            .unwrap_or_else(|| panic!("a cell for no rolled-back target: {c:?}"));
        let classes: Vec<&str> = c["class"].split_whitespace().collect();
        assert!(
            classes.contains(&format!("status-{want}").as_str()),
            "{key:?}: {c:?}, want {want}"
        );
        assert!(c["title"].contains(&format!("status: {want}")), "{c:?}");
        assert!(seen.insert(key), "two cells for one target");
    }
    let table: Vec<&str> = dump
        .split("<tr class=\"row")
        .skip(1)
        .map(|r| &r[..r.find("</tr>").expect("a closed row")])
        .collect();
    assert_eq!(table.len(), expected.len(), "the table shows every row");
    for ((id, region), want) in &expected {
        let matching = table
            .iter()
            .filter(|r| {
                r.contains(&format!(">{id}<"))
                    && r.contains(&format!(">{region}<"))
                    && r.contains(&format!("class=\"status-{want}\""))
            })
            .count();
        assert_eq!(
            matching,
            1,
            "{id}/{region}: one table row with status {want}:\n{}",
            table.join("\n")
        );
    }
    // The status filter, through the fragment.
    for (fragment, want) in [("#status=deleted", 4), ("#status=restored", 2)] {
        let (dump, _) = dom(&page_path, fragment);
        assert_eq!(elements(&dump, "tr", "row").len(), want, "{fragment}");
    }
}
