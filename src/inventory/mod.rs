//! Inventory files (c7n-org `accounts.yml`-compatible YAML, or CSV) → accounts (load,
//! accounts_yml, accounts_csv), EventBridge events → the accounts they name (eventbridge), and the
//! selection flags → the final target list (select, narrowed by the events in narrow).

mod accounts_csv;
mod accounts_yml;
mod eventbridge;
mod load;
mod narrow;
mod org_tags;
mod parsed;
mod select;

pub(crate) use eventbridge::{EventBridgeEvents, load as load_events, parse as parse_events};
pub(crate) use load::{Inventory, load};
pub(crate) use narrow::narrow;
pub(crate) use org_tags::OrgTags;
pub(crate) use select::{Regions, Selection, Strictness, select};
