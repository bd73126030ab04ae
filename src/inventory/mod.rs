//! Inventory files (c7n-org `accounts.yml`-compatible YAML, or CSV) → accounts (load,
//! accounts_yml, accounts_csv), and the selection flags → the final target list (select).

mod accounts_csv;
mod accounts_yml;
mod load;
mod parsed;
mod select;

pub(crate) use load::load;
pub(crate) use select::{Regions, Selection, select};
