//! A YAML tree that keeps each scalar's text exactly as written and each node's line,
//! so `account_id: 012345678901` keeps its zero and every problem can name its line.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone)]
pub enum Node {
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
pub struct Entry {
    pub key: String,
    pub key_line: usize,
    pub value: Node,
}

impl Node {
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. } | Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    /// A plain `~`, `null` or empty scalar.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, quoted: false, .. } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Node::Scalar { .. } => "a single value",
            Node::Seq { .. } => "a list",
            Node::Map { .. } => "a mapping",
        }
    }
}

/// Parse error with its 1-based line and column.
#[derive(Debug)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses the first document of `text`. An empty file is an empty mapping.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, false).map_err(|e| YamlError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root.unwrap_or(Node::Map {
        entries: vec![],
        line: 1,
    }))
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
}

impl Builder {
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
        let line = mark.line();
        match ev {
            Event::Scalar(text, style, anchor, _tag) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.push_value(Node::Scalar { text, quoted, line }, anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.open_anchors.push(anchor);
                self.stack.push((
                    Node::Seq {
                        items: vec![],
                        line,
                    },
                    None,
                ));
            }
            Event::MappingStart(anchor, _) => {
                self.open_anchors.push(anchor);
                self.stack.push((
                    Node::Map {
                        entries: vec![],
                        line,
                    },
                    None,
                ));
            }
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
                            line,
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
