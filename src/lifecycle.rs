//! The document's lifecycle rules: what to do with a document that already exists
//! (`--existing`), the tag that marks a document as this tool's (`--owner-tag`), and which
//! versions `--prune-versions` deletes when SSM's version cap is reached.

use std::fmt;

/// `--existing`: what apply does where the document exists and differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Existing {
    /// Replace the content with the file's (the default).
    #[default]
    Update,
    /// Replace it, keeping the target's own inputs the file does not set (`--merge`).
    Merge,
    /// Only create where the document is missing; leave every existing one as it is.
    Keep,
    /// Write nowhere that holds a document without this tool's mark.
    Refuse,
}

impl Existing {
    pub(crate) const ALL: [Existing; 4] = [
        Existing::Update,
        Existing::Merge,
        Existing::Keep,
        Existing::Refuse,
    ];

    pub(crate) fn parse(s: &str) -> Option<Existing> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Existing::Update => "update",
            Existing::Merge => "merge",
            Existing::Keep => "keep",
            Existing::Refuse => "refuse",
        }
    }

    /// Whether the target's own inputs the file does not set are kept.
    pub(crate) fn merges(self) -> bool {
        self == Existing::Merge
    }
}

/// The SSM resource tag this tool puts on every document it creates or updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    pub key: String,
    pub value: String,
}

impl Default for Mark {
    fn default() -> Self {
        Mark {
            key: "managed-by".into(),
            value: "ssm-prefs".into(),
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl Mark {
    /// `KEY=VALUE`, within SSM's tag rules: a key of 1–128 characters not starting with
    /// `aws:`, a value of up to 256, both of letters, digits, spaces and `_ . : / = + - @`.
    pub(crate) fn parse(s: &str) -> Result<Mark, String> {
        let Some((key, value)) = s.split_once('=') else {
            return Err(format!("{s:?} is not KEY=VALUE"));
        };
        let allowed = |t: &str| {
            t.chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
        };
        if key.is_empty() || key.chars().count() > 128 {
            return Err(format!("tag key {key:?} must be 1 to 128 characters"));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(format!(
                "tag key {key:?}: the aws: prefix is reserved for AWS"
            ));
        }
        if value.chars().count() > 256 {
            return Err("a tag value is at most 256 characters".into());
        }
        if !allowed(key) || !allowed(value) {
            return Err(format!(
                "{s:?}: tags allow only letters, digits, spaces and _ . : / = + - @"
            ));
        }
        Ok(Mark {
            key: key.into(),
            value: value.into(),
        })
    }

    /// Whether a document carrying these tags is marked as this tool's.
    pub(crate) fn is_on<'a>(&self, mut tags: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        tags.any(|(k, v)| k == self.key && v == self.value)
    }
}

/// `--prune-versions` given without a number: enough versions that a rollback of any of the
/// last hundred applies that changed the target still finds the version it restores.
pub(crate) const DEFAULT_KEEP_VERSIONS: usize = 100;

/// The versions to delete so that `keep` remain, besides the default and the latest: the
/// oldest first, never the default, never the latest.
pub fn versions_to_prune(existing: &[u64], default: u64, latest: u64, keep: usize) -> Vec<u64> {
    let mut sorted = existing.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let newest: Vec<u64> = sorted.iter().rev().take(keep).copied().collect();
    sorted
        .into_iter()
        .filter(|v| *v != default && *v != latest && !newest.contains(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_the_oldest_beyond_keep_but_never_default_or_latest() {
        let all: Vec<u64> = (1..=10).collect();
        assert_eq!(versions_to_prune(&all, 10, 10, 5), vec![1, 2, 3, 4, 5]);
        // An old default stays, beside the newest five.
        assert_eq!(versions_to_prune(&all, 2, 10, 5), vec![1, 3, 4, 5]);
        // Gaps from earlier deletions count only what exists.
        assert_eq!(versions_to_prune(&[1, 4, 7, 8, 9], 9, 9, 2), vec![1, 4, 7]);
        assert!(versions_to_prune(&all, 10, 10, 10).is_empty());
        assert_eq!(
            versions_to_prune(&all, 3, 10, 1),
            vec![1, 2, 4, 5, 6, 7, 8, 9]
        );
    }

    #[test]
    fn marks_follow_ssm_tag_rules() {
        assert_eq!(Mark::parse("owner=platform team").unwrap().key, "owner");
        assert_eq!(Mark::parse("k=").unwrap().value, "");
        assert_eq!(Mark::parse("a=b=c").unwrap().value, "b=c");
        let long = format!("{}=v", "k".repeat(129));
        for bad in [
            "novalue",
            "=x",
            "aws:x=y",
            "AWS:x=y",
            "k=v;rm",
            long.as_str(),
        ] {
            assert!(Mark::parse(bad).is_err(), "{bad}");
        }
        let m = Mark::default();
        assert!(m.is_on([("x", "y"), ("managed-by", "ssm-prefs")].into_iter()));
        assert!(!m.is_on([("managed-by", "someone")].into_iter()));
    }
}
