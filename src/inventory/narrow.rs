//! `--event` with `-i` or `--org`: the selection narrowed to what the events name — a new
//! account's targets, or the one region an account opted in.

use std::sync::Arc;

use super::events::Events;
use super::select::Selected;
use crate::target::{Account, Target};

/// Keeps the targets the events name. `alone`: the events are the inventory, so a region an
/// account opted in is its target whatever `-r` says; with `-i` or `--org`, that region
/// must be in the selection (`-r all` holds it once it is enabled).
pub(crate) fn narrow(selected: Selected, events: &Events, alone: bool) -> Selected {
    let new = |t: &Target| events.accounts.iter().any(|(a, _)| *a == t.account.id);
    let opted_in = |t: &Target| events.regions_of(&t.account.id).any(|r| *r == t.region);
    let mut accounts: Vec<Arc<Account>> = vec![];
    for a in selected.targets.iter().map(|t| &t.account) {
        if !accounts.iter().any(|b| b.id == a.id) {
            accounts.push(a.clone());
        }
    }
    let mut out = Selected::default();
    for t in selected.targets {
        if new(&t) || opted_in(&t) {
            out.targets.push(t);
        }
    }
    for account in selected.all_regions {
        if events.accounts.iter().any(|(a, _)| *a == account.id) {
            out.all_regions.push(account);
        } else {
            // `-r all` holds every enabled region: the one opted in is checked as named.
            out.targets
                .extend(events.regions_of(&account.id).map(|r| Target {
                    account: account.clone(),
                    region: r.clone(),
                }));
        }
    }
    if alone {
        for account in accounts {
            for region in events.regions_of(&account.id) {
                let has = out
                    .targets
                    .iter()
                    .any(|t| t.account.id == account.id && t.region == *region);
                if !has && !out.all_regions.iter().any(|a| a.id == account.id) {
                    out.targets.push(Target {
                        account: account.clone(),
                        region: region.clone(),
                    });
                }
            }
        }
    }
    out
}
