//! What the model holds of a change: one input (or top-level field) of the preferences whose
//! value differs between a target and the desired content. The diff (src/preferences/diff.rs)
//! makes every one, masking sensitive values (`Change::shown`); the model needs no input
//! parser to hold it.

use serde_json::Value;

/// One input (or top-level field) whose value differs between a target and the desired content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    /// The input's name (`s3BucketName`), or the top-level field's (`content` for a whole
    /// document).
    pub key: String,
    /// The value the target holds, as it may be shown; `None` when absent.
    pub from: Option<Value>,
    /// The desired value, as it may be shown; `None` when it goes away.
    pub to: Option<Value>,
}
