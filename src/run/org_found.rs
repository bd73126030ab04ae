//! What `--org`'s walk found, as the run's accounts, and the lines that say it: the walk's
//! figures and the accounts it found (said alike whether the run walked first or streamed).

use std::sync::Arc;

use crate::aws::organizations::Found;
use crate::model::OrgWalk;
use crate::target::{Account, AccountId};
use crate::terminal::printer::Printer;
use crate::words::count;

/// The walk's figures as a line: its calls, the throttles tried again, and how far it got.
fn walk_line(walk: &OrgWalk) -> String {
    let mut line = format!(
        "--org: the walk made {} in {:.1} s ({} tried again after a throttle or a passing failure; {})",
        count(walk.calls as usize, "Organizations call"),
        walk.duration_ms as f64 / 1000.0,
        walk.retries,
        if walk.tags_read {
            "each account's tags read: a tag may fill a placeholder or -t selects by one"
        } else {
            "no account's tags read: no placeholder or -t needs them"
        }
    );
    if !walk.complete {
        line.push_str(&format!(
            "; stopped before its end, at {}: {} of {} read, {}",
            match walk.streamed {
                // Its accounts ran as it found them: it had the run's whole time.
                true => "the run's stop",
                false => "half the time to the run's stop",
            },
            count(walk.ous_walked, "OU"),
            walk.ous_walked + walk.ous_left,
            count(walk.accounts_left, "account"),
        ));
        line.push_str(" found whose tags were not read are left out, and every account under the OUs not read");
    }
    line
}

/// An account the walk found, as the inventory's.
pub(super) fn account_of(f: &Found, caller: Option<&AccountId>) -> Option<Arc<Account>> {
    let id = AccountId::parse(&f.id).ok()?;
    let mut a = Account::new(id, 0);
    a.name = f.name.clone();
    a.email = Some(f.email.clone()).filter(|e| !e.is_empty());
    a.tags = f.tags.clone();
    a.vars = f.vars.clone();
    a.base_credentials = caller == Some(&a.id);
    Some(Arc::new(a))
}

/// The walk's line: a note, or a warning where it was cut short.
pub(super) fn say_walk(printer: &Printer, walk: &OrgWalk) {
    if walk.complete {
        printer.note(&walk_line(walk));
    } else {
        printer.warn(&walk_line(walk));
    }
}

/// `--org`'s line: how many accounts, where, the SUSPENDED left out, the caller's own.
pub(super) fn say_found(
    printer: &Printer,
    accounts: &[Arc<Account>],
    place: &str,
    suspended: usize,
) {
    printer.note(&format!(
        "--org: {} in {place}{}{}",
        count(accounts.len(), "ACTIVE account"),
        match suspended {
            0 => String::new(),
            n => format!(" ({n} SUSPENDED left out)"),
        },
        match accounts.iter().find(|a| a.base_credentials) {
            Some(a) => format!("; {} (the caller's) with the base credentials", a.id),
            None => String::new(),
        }
    ));
}
