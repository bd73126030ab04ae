//! The preferences JSON: checked (check), loaded and rendered per target (load), compared with
//! what a target holds (diff).

mod check;
mod diff;
mod load;

pub use diff::{Change, changed_keys, diff};
pub use load::{
    BUILTIN_PLACEHOLDERS, MAX_CONTENT_BYTES, Preferences, load, sha256_hex, to_content,
};
