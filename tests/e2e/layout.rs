//! The layout of src/, read with `syn`: no import cycle between its files, and every rule of
//! the data flow in docs/development.md ("Where things live") checked, a failure naming the
//! file, the rule it breaks and the line that does. (One printer: clippy's print_stdout and
//! print_stderr, warned in Cargo.toml and denied by scripts/test.sh.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::Span;

/// Every .rs file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn parse(file: &Path) -> syn::File {
    syn::parse_file(&std::fs::read_to_string(file).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// A file's module path: src/a/b.rs and src/a/b/mod.rs are [a, b]; main.rs and lib.rs [].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut segs: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segs.last().is_some_and(|s| s == "mod") || segs == ["main"] || segs == ["lib"] {
        segs.pop();
    }
    segs
}

/// The paths a use tree names, each with the name it brings in (`None` for a glob) and where
/// its last segment is written.
fn use_paths(tree: &syn::UseTree, prefix: Vec<String>) -> Vec<(Vec<String>, Option<String>, Span)> {
    let with = |ident: &syn::Ident| [prefix.clone(), vec![ident.to_string()]].concat();
    match tree {
        syn::UseTree::Path(p) => use_paths(&p.tree, with(&p.ident)),
        syn::UseTree::Name(n) if n.ident == "self" => {
            vec![(prefix.clone(), prefix.last().cloned(), n.ident.span())]
        }
        syn::UseTree::Name(n) => vec![(with(&n.ident), Some(n.ident.to_string()), n.ident.span())],
        syn::UseTree::Rename(r) => {
            vec![(with(&r.ident), Some(r.rename.to_string()), r.ident.span())]
        }
        syn::UseTree::Glob(g) => vec![(prefix, None, g.star_token.span)],
        syn::UseTree::Group(g) => g
            .items
            .iter()
            .flat_map(|t| use_paths(t, prefix.clone()))
            .collect(),
    }
}

/// `segs`, written in module `here`, as an absolute module path: `crate::` (and main.rs's
/// `ssm_prefs::`) from the root, `self::` and `super::` from `here`; any other first segment
/// is a child of `here` when `relative` (a `use` in a mod.rs), else not the crate's.
fn absolute(here: &[String], segs: &[String], relative: bool) -> Option<Vec<String>> {
    let (mut abs, mut rest) = match segs.first()?.as_str() {
        "crate" | "ssm_prefs" => (vec![], &segs[1..]),
        "self" => (here.to_vec(), &segs[1..]),
        "super" => (here.to_vec(), segs),
        _ if relative => (here.to_vec(), segs),
        _ => return None,
    };
    while let [first, tail @ ..] = rest
        && first == "super"
    {
        abs.pop();
        rest = tail;
    }
    abs.extend_from_slice(rest);
    Some(abs)
}

/// Where a file refers to something: the path as written, and its line (1-based) with the
/// line's text.
#[derive(Clone, Debug, PartialEq)]
struct Site {
    written: String,
    line: usize,
    text: String,
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: `{}`", self.line, self.text)
    }
}

/// The module paths a file names, each with where: the crate's, absolute (in `use` items, in
/// code and in macro arguments that parse as expressions), and other crates' (a path whose
/// first segment is neither the crate's nor a `use`d name of the file).
struct Refs<'t> {
    /// The module being read: the file's, and the inline `mod name { … }`s around.
    here: Vec<String>,
    lines: Vec<&'t str>,
    found: Vec<(Vec<String>, Site)>,
    external: Vec<(String, Site)>,
}

impl Refs<'_> {
    fn site(&self, segs: &[String], span: Span) -> Site {
        let line = span.start().line;
        let text = self.lines.get(line.wrapping_sub(1)).unwrap_or(&"").trim();
        Site {
            written: segs.join("::"),
            line,
            text: text.to_string(),
        }
    }
    fn note(&mut self, segs: Vec<String>, span: Span) {
        let site = self.site(&segs, span);
        match absolute(&self.here, &segs, false) {
            Some(abs) => self.found.push((abs, site)),
            // `std`, `clap`, `aws_sdk_ssm`, …; a single segment is a local name.
            None if segs.len() > 1 => self.external.push((segs[0].clone(), site)),
            None => {}
        }
    }
}

impl<'a> syn::visit::Visit<'a> for Refs<'_> {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        self.here.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.here.pop();
    }
    fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
        for (segs, _, span) in use_paths(&u.tree, vec![]) {
            self.note(segs, span);
        }
    }
    fn visit_path(&mut self, p: &'a syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let span = p
            .segments
            .last()
            .map_or_else(Span::call_site, |s| s.ident.span());
        self.note(segs, span);
        syn::visit::visit_path(self, p);
    }
    /// `pub(crate)`, `pub(super)`: no reference.
    fn visit_vis_restricted(&mut self, _: &'a syn::VisRestricted) {}
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        syn::visit::visit_macro(self, m);
        type Args = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
        if let Ok(args) = m.parse_body_with(Args::parse_terminated) {
            args.iter().for_each(|e| self.visit_expr(e));
        }
    }
}

/// The file that defines the absolute `path`: the deepest existing of src/a.rs (or
/// src/a/mod.rs), src/a/b.rs, …. A mod.rs or lib.rs, which only gathers modules, stands for
/// the file of what it re-exports as the path's next segment (by name, else through its one
/// glob), and for nothing else.
fn resolve(src: &Path, path: &[String], hops: usize) -> Option<PathBuf> {
    let (mut file, mut used, mut dir) = (src.join("lib.rs"), 0, src.to_path_buf());
    for seg in path {
        let candidates = [dir.join(format!("{seg}.rs")), dir.join(seg).join("mod.rs")];
        let Some(found) = candidates.into_iter().find(|f| f.is_file()) else {
            break;
        };
        (file, used) = (found, used + 1);
        dir.push(seg);
    }
    if !(file.ends_with("mod.rs") || file == src.join("lib.rs")) {
        return Some(file);
    }
    let item = path.get(used).filter(|_| hops < 8)?;
    let uses: Vec<_> = parse(&file)
        .items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Use(u) if !matches!(u.vis, syn::Visibility::Inherited) => Some(u),
            _ => None,
        })
        .flat_map(|u| use_paths(&u.tree, vec![]))
        .collect();
    let globs: Vec<_> = uses.iter().filter(|(_, name, _)| name.is_none()).collect();
    let (target, rest) = match uses.iter().find(|(_, name, _)| name.as_ref() == Some(item)) {
        Some((target, _, _)) => (target, &path[used + 1..]),
        None if globs.len() == 1 => (&globs[0].0, &path[used..]),
        None => return None,
    };
    let mut abs = absolute(&path[..used], target, true)?;
    abs.extend_from_slice(rest);
    resolve(src, &abs, hops + 1)
}

/// What one file of src/ refers to: the crate's files and other crates, each with the first
/// place that does.
#[derive(Clone, Debug, Default)]
struct FileRefs {
    files: BTreeMap<String, Site>,
    crates: BTreeMap<String, Site>,
}

/// Each file of `src` (but lib.rs and the mod.rs files, which only gather modules) → what it
/// refers to.
type Graph = BTreeMap<String, FileRefs>;

fn import_graph(src: &Path) -> Graph {
    let name = |p: &Path| format!("src/{}", p.strip_prefix(src).unwrap().display());
    let mut graph = Graph::new();
    for file in rust_files(src) {
        if file.ends_with("mod.rs") || file == src.join("lib.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let mut refs = Refs {
            here: module_of(src, &file),
            lines: text.lines().collect(),
            found: vec![],
            external: vec![],
        };
        syn::visit::Visit::visit_file(&mut refs, &parse(&file));
        let from = name(&file);
        let node = graph.entry(from.clone()).or_default();
        for (path, site) in refs.found {
            if let Some(to) = resolve(src, &path, 0).map(|f| name(&f))
                && to != from
            {
                node.files.entry(to).or_insert(site);
            }
        }
        for (krate, site) in refs.external {
            node.crates.entry(krate).or_insert(site);
        }
    }
    graph
}

/// A cycle of the graph, as `a (path) → b (path) → a`, if there is one.
fn find_cycle(graph: &Graph) -> Option<String> {
    // Depth-first; a node met again while on the stack closes a cycle.
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            return Some([&stack[at..], &[node.to_string()]].concat());
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|n| n.files.keys()) {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let (mut done, mut stack) = (BTreeSet::new(), vec![]);
    let cycle = graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut stack))?;
    let steps: Vec<String> = cycle
        .windows(2)
        .map(|w| {
            let site = &graph[&w[0]].files[&w[1]];
            format!("{} ({}, {site})", w[0], site.written)
        })
        .collect();
    Some(format!("{} → {}", steps.join(" → "), cycle[0]))
}

// The rules of the data flow.

/// One rule of docs/development.md's "Where things live": the files under `parts` import no
/// file under `never` (a folder `src/x/` or a file) and name no crate starting with one of
/// `crates`.
struct Rule {
    /// The rule as the docs say it.
    says: &'static str,
    parts: &'static [&'static str],
    never: &'static [&'static str],
    crates: &'static [&'static str],
}

/// The AWS SDK and its runtime, as crates.
const AWS_CRATES: &[&str] = &["aws_"];

/// The renderer a file belongs to: each file (or folder) of src/report/ and src/terminal/ is
/// one (csv.rs and csv/ the same one), turning the model into output; src/terminal/printer.rs
/// is not: it is the one printer every renderer's lines go through.
fn renderer(file: &str) -> Option<String> {
    let rest = file
        .strip_prefix("src/report/")
        .or_else(|| file.strip_prefix("src/terminal/"))?;
    let name = rest.split('/').next()?.trim_end_matches(".rs");
    let part = &file[..file.len() - rest.len()];
    (!["printer", "mod"].contains(&name)).then(|| format!("{part}{name}"))
}

/// What is built from the settings and the inputs, or renders what those built: the
/// settings and the inputs import none of it.
const BUILT_FROM_INPUTS: &[&str] = &[
    "src/run/",
    "src/steps/",
    "src/aws/",
    "src/commands/",
    "src/lambda/",
    "src/report/",
    "src/terminal/",
];

const RULES: &[Rule] = &[
    Rule {
        says: "data flows one way: settings → inputs → targets → the engine → a target's \
               steps → AWS (AWS code imports none of what calls it)",
        parts: &["src/aws/"],
        never: &[
            "src/steps/",
            "src/run/",
            "src/commands/",
            "src/lambda/",
            "src/cli.rs",
        ],
        crates: &[],
    },
    Rule {
        says: "data flows one way: settings → inputs → targets → … (inputs are read before \
               the engine, the steps and AWS, and import none of them)",
        parts: &[
            "src/inventory/",
            "src/preferences/",
            "src/yaml.rs",
            "src/target.rs",
        ],
        never: BUILT_FROM_INPUTS,
        crates: AWS_CRATES,
    },
    Rule {
        says: "commands call the engine, which never imports a command nor the raw flags \
               (src/cli.rs)",
        parts: &["src/run/"],
        never: &["src/commands/", "src/cli.rs", "src/lambda/"],
        crates: &["clap"],
    },
    Rule {
        says: "no step imports the engine",
        parts: &["src/steps/"],
        never: &["src/run/", "src/commands/", "src/lambda/", "src/cli.rs"],
        crates: &[],
    },
    Rule {
        says: "settings import no AWS code (and, data, none of what is built from them)",
        parts: &["src/settings/"],
        never: BUILT_FROM_INPUTS,
        crates: AWS_CRATES,
    },
    Rule {
        says: "Lambda mode builds its settings without a command line",
        parts: &["src/lambda/", "src/settings/from_env.rs"],
        // from_env.rs shares from_cli.rs's check of each part (docs/development.md).
        never: &["src/cli.rs", "src/commands/"],
        crates: &["clap"],
    },
    Rule {
        says: "a step never prints and never imports a renderer",
        parts: &["src/steps/"],
        never: &["src/terminal/", "src/report/"],
        crates: &["indicatif"],
    },
    Rule {
        says: "a renderer never calls AWS (nor runs anything)",
        parts: &["src/report/", "src/terminal/"],
        never: &[
            "src/aws/",
            "src/steps/",
            "src/run/",
            "src/commands/",
            "src/lambda/",
        ],
        crates: AWS_CRATES,
    },
    Rule {
        says: "the model imports neither a step nor a renderer, nor any input parser",
        parts: &["src/model/"],
        never: &[
            "src/steps/",
            "src/report/",
            "src/terminal/",
            "src/aws/",
            "src/run/",
            "src/commands/",
            "src/lambda/",
            "src/cli.rs",
            "src/settings/",
            "src/inventory/",
            "src/preferences/",
            "src/yaml.rs",
        ],
        crates: AWS_CRATES,
    },
];

/// Whether a path into the SDK names data, not AWS code: its shapes (`aws_sdk_x::types`,
/// `::primitives`, aws_smithy_types) are values a renderer may build (the ASFF finding is the
/// SDK's type); calling AWS takes a client, a config or an operation, which are not these.
fn is_data(written: &str) -> bool {
    let segs: Vec<&str> = written.split("::").collect();
    match segs.as_slice() {
        [krate, module, ..] if krate.starts_with("aws_sdk_") => {
            ["types", "primitives"].contains(module)
        }
        [krate, ..] => *krate == "aws_smithy_types",
        [] => false,
    }
}

fn under(file: &str, part: &str) -> bool {
    if part.ends_with('/') {
        file.starts_with(part)
    } else {
        file == part
    }
}

/// Every place `graph` breaks a rule, as `FILE breaks "RULE": it imports WHAT, line N: `…``.
fn breaks(graph: &Graph) -> Vec<String> {
    let mut out = vec![];
    let mut say = |from: &str, says: &str, what: &str, site: &Site| {
        out.push(format!(
            "{from} breaks \"{says}\": it imports {what} ({}), {site}",
            site.written
        ))
    };
    for (from, refs) in graph {
        for rule in RULES
            .iter()
            .filter(|r| r.parts.iter().any(|p| under(from, p)))
        {
            for (to, site) in &refs.files {
                if rule.never.iter().any(|n| under(to, n)) {
                    say(from, rule.says, to, site);
                }
            }
            for (krate, site) in &refs.crates {
                if rule.crates.iter().any(|c| krate.starts_with(c)) && !is_data(&site.written) {
                    say(from, rule.says, &format!("the crate {krate}"), site);
                }
            }
        }
        // A renderer never imports another renderer.
        if let Some(mine) = renderer(from) {
            for (to, site) in &refs.files {
                if renderer(to).is_some_and(|other| other != mine) {
                    say(from, "a renderer never imports another renderer", to, site);
                }
            }
        }
    }
    out
}

/// The rules that name no file of the crate check nothing: each part and each file or folder
/// it may not import exists.
fn unknown_parts(src: &Path) -> Vec<String> {
    let exists = |p: &str| src.parent().unwrap().join(p).exists();
    RULES
        .iter()
        .flat_map(|r| r.parts.iter().chain(r.never))
        .filter(|p| !exists(p))
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn no_import_cycle_between_src_files() {
    let graph = import_graph(&src_dir());
    assert!(
        graph.len() > 20 && graph.values().map(|n| n.files.len()).sum::<usize>() > 40,
        "the graph is too small to be the crate's: {graph:#?}"
    );
    // Known edges, so a broken reader cannot pass by finding nothing.
    for (from, to) in [
        ("src/commands/apply.rs", "src/run/executor.rs"),
        ("src/run/setup.rs", "src/aws/session.rs"),
        ("src/lambda/invocation.rs", "src/aws/objects.rs"),
        ("src/run/executor.rs", "src/run/setup.rs"),
    ] {
        assert!(
            graph[from].files.contains_key(to),
            "{from} → {to} not found: {:#?}",
            graph[from]
        );
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("an import cycle between the files of src/: {cycle}");
    }
}

#[test]
fn the_parts_of_src_import_one_way() {
    let src = src_dir();
    assert_eq!(
        unknown_parts(&src),
        Vec::<String>::new(),
        "rules naming no file"
    );
    let graph = import_graph(&src);
    for part in [
        "src/run/",
        "src/steps/",
        "src/lambda/",
        "src/settings/",
        "src/model/",
    ] {
        assert!(
            graph.keys().any(|f| f.starts_with(part)),
            "{part} not found: {:#?}",
            graph.keys()
        );
    }
    let renderers: BTreeSet<String> = graph.keys().filter_map(|f| renderer(f)).collect();
    assert!(renderers.len() >= 8, "the renderers: {renderers:?}");
    // Known crates, so a broken reader cannot pass by finding none.
    assert!(graph["src/cli.rs"].crates.contains_key("clap"));
    assert!(
        graph["src/aws/document.rs"]
            .crates
            .contains_key("aws_sdk_ssm")
    );
    // Commands call the engine: each command over targets imports it.
    for command in ["plan", "apply", "audit", "rollback"] {
        let file = format!("src/commands/{command}.rs");
        assert!(
            graph[&file].files.keys().any(|f| f.starts_with("src/run/")),
            "{file} breaks \"commands call the engine\": it imports no file of src/run/"
        );
    }
    let bad = breaks(&graph);
    assert!(
        bad.is_empty(),
        "imports against the data flow (docs/development.md, \"Where things live\"):\n{}",
        bad.join("\n")
    );
}

/// A small crate in a temporary folder: `files` as (path under src/, text), each folder with a
/// mod.rs declaring what it holds, and lib.rs declaring the top.
fn small_crate(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let mut mods: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in files {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        let mut at = p.clone();
        while at != src {
            let name = at.file_stem().unwrap().to_string_lossy().into_owned();
            at.pop();
            mods.entry(at.clone()).or_default().insert(name);
        }
    }
    for (folder, names) in mods {
        let gather = if folder == src { "lib.rs" } else { "mod.rs" };
        let text: String = names
            .iter()
            .filter(|n| *n != "lib" && *n != "main" && *n != "mod")
            .map(|n| format!("pub mod {n};\n"))
            .collect();
        let path = folder.join(gather);
        if !path.exists() {
            std::fs::write(path, text).unwrap();
        }
    }
    dir
}

/// What the rules say of a small crate where `from` holds `text` and every file in `to` exists.
fn breaks_of(from: &str, text: &str, to: &[&str]) -> Vec<String> {
    let mut files: Vec<(&str, &str)> = to.iter().map(|t| (*t, "pub fn f() {}\n")).collect();
    files.push((from, text));
    let dir = small_crate(&files);
    breaks(&import_graph(&dir.path().join("src")))
}

/// Each rule bites: a made-up file breaking it is named, with the rule and the offending line.
#[test]
fn each_rule_catches_a_file_that_breaks_it() {
    // (file, its text, the file it imports, the rule's words, the line named)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "aws/session.rs",
            "use crate::steps::job::f;\npub fn s() { f() }\n",
            "steps/job.rs",
            "AWS code imports none of what calls it",
            "line 1: `use crate::steps::job::f;`",
        ),
        (
            "inventory/select.rs",
            "pub fn s() {\n    crate::run::engine::f()\n}\n",
            "run/engine.rs",
            "inputs are read before the engine",
            "line 2: `crate::run::engine::f()`",
        ),
        (
            "run/setup.rs",
            "use crate::cli::f as defaults;\n",
            "cli.rs",
            "the engine, which never imports a command nor the raw flags",
            "line 1: `use crate::cli::f as defaults;`",
        ),
        (
            "run/engine.rs",
            "use super::super::commands::apply;\n",
            "commands/apply.rs",
            "never imports a command",
            "line 1: `use super::super::commands::apply;`",
        ),
        (
            "steps/write.rs",
            "use crate::{\n    model::row::f,\n    run::sinks::f as g,\n};\n",
            "run/sinks.rs",
            "no step imports the engine",
            "line 3: `run::sinks::f as g,`",
        ),
        (
            "settings/checked.rs",
            "use crate::aws::session::f;\n",
            "aws/session.rs",
            "settings import no AWS code",
            "line 1: `use crate::aws::session::f;`",
        ),
        (
            "lambda/function.rs",
            "use crate::cli::f;\n",
            "cli.rs",
            "Lambda mode builds its settings without a command line",
            "line 1: `use crate::cli::f;`",
        ),
        (
            "settings/from_env.rs",
            "pub fn e() {\n    let _ = crate::cli::f;\n}\n",
            "cli.rs",
            "Lambda mode builds its settings without a command line",
            "line 2: `let _ = crate::cli::f;`",
        ),
        (
            "steps/audit.rs",
            "use crate::terminal::printer::f;\n",
            "terminal/printer.rs",
            "a step never prints and never imports a renderer",
            "line 1: `use crate::terminal::printer::f;`",
        ),
        (
            "report/junit.rs",
            "use crate::aws::error::f;\n",
            "aws/error.rs",
            "a renderer never calls AWS",
            "line 1: `use crate::aws::error::f;`",
        ),
        (
            "report/html.rs",
            "pub fn h() { crate::report::csv::f() }\n",
            "report/csv.rs",
            "a renderer never imports another renderer",
            "line 1: `pub fn h() { crate::report::csv::f() }`",
        ),
        (
            "terminal/summary.rs",
            "use crate::report::json::f;\n",
            "report/json.rs",
            "a renderer never imports another renderer",
            "line 1: `use crate::report::json::f;`",
        ),
        (
            "model/stats.rs",
            "use crate::report::json::f;\n",
            "report/json.rs",
            "the model imports neither a step nor a renderer",
            "line 1: `use crate::report::json::f;`",
        ),
        (
            "model/row.rs",
            "use crate::inventory::load::f;\n",
            "inventory/load.rs",
            "nor any input parser",
            "line 1: `use crate::inventory::load::f;`",
        ),
    ];
    for (from, text, to, rule, line) in cases {
        let found = breaks_of(from, text, &[to]);
        let named = format!("src/{from} breaks \"");
        assert!(
            found.iter().any(|b| b.starts_with(&named)
                && b.contains(rule)
                && b.contains(&format!("it imports src/{to}"))
                && b.ends_with(line)),
            "src/{from} importing src/{to}: expected \"{rule}\" at {line}, got {found:#?}"
        );
    }
    // And the same files, importing along the flow, break nothing.
    assert_eq!(
        breaks_of(
            "run/engine.rs",
            "use crate::steps::job::f;\nuse crate::settings::checked::f as g;\n",
            &["steps/job.rs", "settings/checked.rs"],
        ),
        Vec::<String>::new()
    );
}

/// The crates a part may not name: clap outside the raw flags' side, the SDK in the
/// settings, the inputs, the model and the renderers, indicatif in a step.
#[test]
fn each_rule_catches_a_crate_a_part_may_not_name() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "lambda/invocation.rs",
            "use clap::Parser;\n",
            "Lambda mode builds its settings without a command line",
            "the crate clap (clap::Parser), line 1: `use clap::Parser;`",
        ),
        (
            "run/setup.rs",
            "pub fn s() { let _ = clap::Command::new(\"x\"); }\n",
            "never imports a command nor the raw flags",
            "the crate clap (clap::Command::new), line 1",
        ),
        (
            "settings/checked.rs",
            "use aws_config::SdkConfig;\n",
            "settings import no AWS code",
            "the crate aws_config (aws_config::SdkConfig), line 1",
        ),
        (
            "report/json.rs",
            "fn x(c: &aws_sdk_ssm::Client) {}\n",
            "a renderer never calls AWS",
            "the crate aws_sdk_ssm (aws_sdk_ssm::Client), line 1",
        ),
        (
            "model/row.rs",
            "use aws_config::SdkConfig;\n",
            "the model imports neither",
            "the crate aws_config",
        ),
        // The SDK's data shapes are let through, not its clients.
        (
            "report/csv.rs",
            "use aws_sdk_ssm::Client;\n",
            "a renderer never calls AWS",
            "the crate aws_sdk_ssm (aws_sdk_ssm::Client), line 1",
        ),
        (
            "steps/read.rs",
            "use indicatif::ProgressBar;\n",
            "a step never prints",
            "the crate indicatif",
        ),
    ];
    // Data shapes: a finding built of the SDK's type, a time through its DateTime.
    let data = "use aws_sdk_securityhub::types::{AwsSecurityFinding, Compliance};\n\
                pub fn t() { let _ = aws_smithy_types::DateTime::from_secs(0); }\n";
    assert_eq!(breaks_of("report/asff.rs", data, &[]), Vec::<String>::new());
    // One renderer's own files import each other freely.
    let guard = "use crate::report::csv::f;\n";
    assert_eq!(
        breaks_of("report/csv/guard.rs", guard, &["report/csv.rs"]),
        Vec::<String>::new()
    );
    for (from, text, rule, what) in cases {
        let found = breaks_of(from, text, &[]);
        assert!(
            found
                .iter()
                .any(|b| b.starts_with(&format!("src/{from} breaks"))
                    && b.contains(rule)
                    && b.contains(what)),
            "src/{from}: expected \"{rule}\", {what}; got {found:#?}"
        );
    }
}

/// The reader behind the rules: on a small crate with a cycle through a `super::` path, a
/// `use` group, a mod.rs re-export and a macro's argument (and none through comments,
/// strings, `pub(crate)` or an inline test module's `super`), the cycle is found and named.
#[test]
fn the_layout_guard_catches_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let put = |path: &str, text: &str| {
        let p = src.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    put("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n");
    put(
        "main.rs",
        "fn main() { println!(\"ok here\"); ssm_prefs::a::x::go(); }\n",
    );
    put("a/mod.rs", "mod x;\nmod y;\npub use x::go;\n");
    put(
        "a/x.rs",
        "// crate::c::loop_back in a comment\n\
         pub fn go() { let _ = \"eprintln!(crate::c::z)\"; let _ = '\"'; super::y::f(); }\n\
         #[cfg(test)]\nmod tests { use super::*; }\n",
    );
    put("a/y.rs", "pub(crate) fn f() {\n    crate::b::g();\n}\n");
    put(
        "b.rs",
        "use crate::{c::{self, deep}, a};\npub fn g() { deep(); }\n",
    );
    put("c.rs", "pub fn deep() { assert!(crate::a::go() == ()) }\n");
    let graph = import_graph(src);
    assert_eq!(
        graph["src/a/x.rs"].files.keys().collect::<Vec<_>>(),
        vec!["src/a/y.rs"],
        "{graph:#?}"
    );
    assert_eq!(
        graph["src/main.rs"].files.keys().collect::<Vec<_>>(),
        vec!["src/a/x.rs"],
        "{graph:#?}"
    );
    let cycle = find_cycle(&graph).expect("the cycle a/x → a/y → b → c → a/x");
    for file in ["src/a/x.rs", "src/a/y.rs", "src/b.rs", "src/c.rs"] {
        assert!(cycle.contains(file), "{cycle}");
    }
    assert!(
        cycle.contains("src/a/y.rs (crate::b::g, line 2: `crate::b::g();`)"),
        "{cycle}"
    );
    // Without c's call back into a, no cycle.
    put("c.rs", "pub fn deep() {}\n");
    assert_eq!(find_cycle(&import_graph(src)), None);
}
