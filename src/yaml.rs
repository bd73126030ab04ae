//! A YAML tree that keeps each scalar's text exactly as written and each node's line,
//! so `account_id: 012345678901` keeps its zero and every problem can name its line.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Text as written; `quoted` tells `"null"` from `null`.
    Scalar {
        text: String,
        quoted: bool,
        line: usize,
    },
    Seq {
        items: Vec<Node>,
        line: usize,
    },
    /// Entries in file order; keys are scalars' text.
    Map {
        entries: Vec<Entry>,
        line: usize,
    },
}

/// One `key: value` of a mapping. The key keeps its own line: a block value (a list or a
/// mapping) starts on a later line than its key, and a problem with the key belongs on the key's.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_line: usize,
    pub value: Node,
}

impl Node {
    pub(crate) fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. } | Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    /// A plain `~`, `null` or empty scalar.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, quoted: false, .. } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Scalar { .. } => "a single value",
            Node::Seq { .. } => "a list",
            Node::Map { .. } => "a mapping",
        }
    }
}

/// Parse error with its 1-based line and column.
#[derive(Debug)]
pub(crate) struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses the first document of `text`. An empty file is an empty mapping.
pub(crate) fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder {
        last_line: line_count(text),
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| {
        let (line, column) = within(text, e.marker().line(), e.marker().col() + 1);
        YamlError {
            line,
            column,
            message: e.info().to_string(),
        }
    })?;
    if let Some(mut err) = builder.error {
        (err.line, err.column) = within(text, err.line, err.column);
        return Err(err);
    }
    Ok(builder.root.unwrap_or(Node::Map {
        entries: vec![],
        line: 1,
    }))
}

/// yaml-rust2 ends the stream on a line of its own, so a problem at the end of a file without
/// a final line break would point one line past the file: point at the end of its last line.
fn within(text: &str, line: usize, column: usize) -> (usize, usize) {
    let lines = line_count(text);
    if line <= lines {
        return (line, column);
    }
    let last = text.rsplit(['\n', '\r']).next().unwrap_or("");
    (lines, last.chars().count() + 1)
}

/// Lines as YAML counts them: CRLF, LF and a lone CR each end one.
fn line_count(text: &str) -> usize {
    1 + text.replace("\r\n", "\n").matches(['\n', '\r']).count()
}

#[derive(Default)]
struct Builder {
    /// Open collections; a map's pending key (text, line) waits in the `Option`.
    stack: Vec<(Node, Option<(String, usize)>)>,
    anchors: Vec<(usize, Node)>,
    /// Anchor ids of open collections, to register them when they close.
    open_anchors: Vec<usize>,
    root: Option<Node>,
    error: Option<YamlError>,
    /// The file's last line: a node at the end of the stream is on it, not past it.
    last_line: usize,
}

impl Builder {
    /// A sequence or mapping starts: filled by the events up to its end.
    fn open(&mut self, anchor: usize, node: Node) {
        self.open_anchors.push(anchor);
        self.stack.push((node, None));
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((Node::Seq { items, .. }, _)) => items.push(node),
            Some((Node::Map { entries, .. }, pending)) => match pending.take() {
                Some((key, key_line)) => entries.push(Entry {
                    key,
                    key_line,
                    value: node,
                }),
                None => match node {
                    Node::Scalar { text, line, .. } => *pending = Some((text, line)),
                    other => {
                        self.error.get_or_insert(YamlError {
                            line: other.line(),
                            column: 1,
                            message: "a mapping key must be a single value".into(),
                        });
                        *pending = Some((String::new(), other.line()));
                    }
                },
            },
            Some((Node::Scalar { .. }, _)) => unreachable!("scalars are never on the stack"),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line().min(self.last_line);
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.push_value(Node::Scalar { text, quoted, line }, anchor);
            }
            Event::SequenceStart(anchor, _) => self.open(
                anchor,
                Node::Seq {
                    items: vec![],
                    line,
                },
            ),
            Event::MappingStart(anchor, _) => self.open(
                anchor,
                Node::Map {
                    entries: vec![],
                    line,
                },
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                if let (Some((node, _)), Some(anchor)) = (self.stack.pop(), self.open_anchors.pop())
                {
                    self.push_value(node, anchor);
                }
            }
            Event::Alias(id) => {
                let found = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone());
                match found {
                    Some(node) => self.push_value(node, 0),
                    None => {
                        self.error.get_or_insert(YamlError {
                            line: mark.line(),
                            column: mark.col() + 1,
                            message: "unknown alias".into(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_and_lines() {
        let n = parse("accounts:\n  - account_id: 012345678901\n    regions: &r [us-east-1]\n  - account_id: '1'\n    regions: *r\n").unwrap();
        let Node::Map { entries, .. } = n else {
            panic!()
        };
        assert_eq!(
            (entries[0].key.as_str(), entries[0].key_line),
            ("accounts", 1)
        );
        let Node::Seq { items, line: 2 } = &entries[0].value else {
            panic!()
        };
        let Node::Map { entries: a, line } = &items[0] else {
            panic!()
        };
        assert_eq!(*line, 2);
        match &a[0].value {
            Node::Scalar { text, quoted, line } => {
                assert_eq!((text.as_str(), *quoted, *line), ("012345678901", false, 2))
            }
            _ => panic!(),
        }
        let Node::Map { entries: b, .. } = &items[1] else {
            panic!()
        };
        assert!(matches!(&b[1].value, Node::Seq { items, .. } if items.len() == 1));
    }

    #[test]
    fn reports_syntax_errors_with_line() {
        let e = parse("accounts:\n  - account_id: \"1\n").err().unwrap();
        assert!(e.line >= 2, "{}", e.line);
    }
}

#[cfg(test)]
mod proptests {
    //! Properties: no text makes the parser panic, and an error points at a line the file has;
    //! a block-style tree reads back with every scalar's text as written and every key and
    //! value on the line it was written on.

    use proptest::prelude::*;

    use super::*;
    use crate::proptests::{YAML_SYNTAX, any_text, config, lines_in, soup};

    fn parse_checked(text: &str) -> Result<(), TestCaseError> {
        let lines = lines_in(text);
        match parse(text) {
            Ok(node) => {
                let mut seen = vec![];
                lines_of(&node, &mut seen);
                prop_assert!(
                    seen.iter().all(|l| (1..=lines).contains(l)),
                    "{:?} of {}",
                    seen,
                    lines
                );
            }
            Err(e) => {
                prop_assert!(
                    (1..=lines).contains(&e.line),
                    "line {} of {}: {}",
                    e.line,
                    lines,
                    e.message
                );
                prop_assert!(e.column >= 1);
            }
        }
        Ok(())
    }

    /// Every key's and every scalar's line, in document order.
    fn lines_of(node: &Node, out: &mut Vec<usize>) {
        match node {
            Node::Scalar { line, .. } => out.push(*line),
            Node::Seq { items, .. } => items.iter().for_each(|i| lines_of(i, out)),
            Node::Map { entries, .. } => {
                for e in entries {
                    out.push(e.key_line);
                    lines_of(&e.value, out);
                }
            }
        }
    }

    fn yaml_soup() -> impl Strategy<Value = String> {
        soup(
            [&["a:", "b: c", "\r", "012", "\0"], YAML_SYNTAX].concat(),
            64,
        )
    }

    /// A tree to write in block style; scalars are plain and need no quoting.
    #[derive(Debug, Clone, PartialEq)]
    enum T {
        S(String),
        L(Vec<T>),
        M(Vec<(String, T)>),
    }

    fn plain() -> impl Strategy<Value = String> {
        // Digits keep their leading zeros: the text is read as written, never as a number.
        prop_oneof![
            "[a-z][a-z0-9_.-]{0,8}",
            "[0-9]{1,13}",
            Just("null".to_string())
        ]
    }

    fn tree() -> impl Strategy<Value = T> {
        plain().prop_map(T::S).prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(T::L),
                prop::collection::vec((plain(), inner), 0..5).prop_map(T::M),
            ]
        })
    }

    /// Writes `t` at column `col` (its first line's prefix already written when `inline`),
    /// recording the line of every key and scalar in document order.
    fn write(t: &T, col: usize, inline: bool, out: &mut String, lines: &mut Vec<usize>) {
        let line = |out: &String| out.matches('\n').count() + 1;
        let pad = " ".repeat(col);
        match t {
            T::S(s) => {
                if !inline {
                    out.push_str(&pad);
                }
                lines.push(line(out));
                out.push_str(s);
                out.push('\n');
            }
            T::L(items) if items.is_empty() => {
                out.push_str(&format!("{}[]\n", if inline { "" } else { &pad }))
            }
            T::M(entries) if entries.is_empty() => {
                out.push_str(&format!("{}{{}}\n", if inline { "" } else { &pad }))
            }
            T::L(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !(inline && i == 0) {
                        out.push_str(&pad);
                    }
                    out.push_str("- ");
                    match item {
                        T::L(inner) if !inner.is_empty() => {
                            out.push('\n');
                            write(item, col + 2, false, out, lines);
                        }
                        _ => write(item, col + 2, true, out, lines),
                    }
                }
            }
            T::M(entries) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    if !(inline && i == 0) {
                        out.push_str(&pad);
                    }
                    lines.push(line(out));
                    out.push_str(k);
                    out.push(':');
                    match v {
                        T::S(_) => {
                            out.push(' ');
                            write(v, col + 2, true, out, lines);
                        }
                        T::L(items) if items.is_empty() => out.push_str(" []\n"),
                        T::M(entries) if entries.is_empty() => out.push_str(" {}\n"),
                        _ => {
                            out.push('\n');
                            write(v, col + 2, false, out, lines);
                        }
                    }
                }
            }
        }
    }

    fn shape(node: &Node) -> T {
        match node {
            Node::Scalar { text, .. } => T::S(text.clone()),
            Node::Seq { items, .. } => T::L(items.iter().map(shape).collect()),
            Node::Map { entries, .. } => T::M(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), shape(&e.value)))
                    .collect(),
            ),
        }
    }

    /// What the properties found: yaml-rust2 puts the end of the stream on a line of its own.
    #[test]
    fn the_end_of_a_file_without_a_final_line_break_is_on_its_last_line() {
        let e = parse("accounts:\n  - [us-east-1").err().unwrap();
        assert_eq!((e.line, e.column), (2, 15), "{}", e.message);
        assert_eq!(parse("&a").unwrap().line(), 1);
        let e = parse("[").err().unwrap();
        assert_eq!((e.line, e.column), (1, 2));
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn parse_survives_any_text(text in any_text()) {
            parse_checked(&text)?;
        }

        #[test]
        fn parse_survives_yaml_soup(text in yaml_soup()) {
            parse_checked(&text)?;
        }

        #[test]
        fn a_block_tree_reads_back_as_written_on_its_lines(
            t in tree(),
            comment in any::<bool>(),
            final_break in any::<bool>(),
        ) {
            let mut text = String::new();
            if comment {
                text.push_str("# inventory\n---\n");
            }
            let mut lines = vec![];
            write(&t, 0, false, &mut text, &mut lines);
            if !final_break {
                text.pop();
            }
            let node = parse(&text).map_err(|e| {
                TestCaseError::fail(format!("{}:{}: {}\n{text}", e.line, e.column, e.message))
            })?;
            prop_assert_eq!(shape(&node), t, "{}", text);
            let mut seen = vec![];
            lines_of(&node, &mut seen);
            prop_assert_eq!(seen, lines, "{}", text);
        }
    }
}
