//! Inventory files (c7n-org `accounts.yml`-compatible YAML, or CSV) → accounts (load,
//! accounts_yml, accounts_csv), and the selection flags → the final target list (select).

mod accounts_csv;
mod accounts_yml;
mod load;
mod select;

pub use accounts_yml::check_role;
pub use load::{Inventory, load};
pub use select::{Regions, Selected, Selection, select};
