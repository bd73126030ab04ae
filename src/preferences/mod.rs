//! The preferences JSON: checked (check), loaded and rendered per target (load), the content
//! SSM is sent and what differs from what a target holds (diff).

mod check;
mod diff;
mod load;

pub(crate) use check::is_placeholder_name;
pub(crate) use diff::{MAX_CONTENT_BYTES, changed_keys, diff, to_content};
pub use load::sha256_hex;
pub(crate) use load::{BUILTIN_PLACEHOLDERS, Preferences, VarsFrom, load, load_bytes};
