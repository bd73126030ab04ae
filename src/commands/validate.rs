//! `validate`: the files and the selection checked, no AWS call.

use crate::error::InputError;
use crate::model::Ended;
use crate::preferences::{self, BUILTIN_PLACEHOLDERS};
use crate::run::{load_inputs, region_totals, warn_all};
use crate::settings;
use crate::terminal::printer::Printer;
use crate::words::{count, plural};

pub(crate) fn validate(printer: &Printer, args: &settings::Validate) -> Result<Ended, InputError> {
    let Some(inventory) = &args.inventory else {
        let prefs = preferences::load(&args.prefs.path)?;
        warn_all(printer, &prefs.warnings);
        for (name, line) in &prefs.placeholders {
            if !BUILTIN_PLACEHOLDERS.contains(&name.as_str()) && !args.prefs.vars.contains_key(name)
            {
                printer.warn(&format!(
                    "{}:{line}: placeholder {{{name}}} must come from inventory vars or --var {name}=VALUE: pass -i to check every target has it",
                    prefs.path.display()
                ));
            }
        }
        printer.out(&format!(
            "{}: valid ({})\n",
            prefs.path.display(),
            count(prefs.warnings.len(), "warning")
        ));
        return Ok(Ended::Success);
    };
    let inputs = load_inputs(printer, &args.prefs, inventory, &args.select)?;
    let accounts: std::collections::BTreeSet<_> =
        inputs.targets.iter().map(|t| t.account_id()).collect();
    let regions = region_totals(&inputs.targets);
    let mut text = format!(
        "{}: valid ({})\n",
        inputs.prefs.path.display(),
        count(inputs.prefs.warnings.len(), "warning")
    );
    text.push_str(&format!(
        "{}: {} × {} = {}\n",
        inputs.inventory_path.display(),
        count(accounts.len(), "account"),
        count(regions.len(), "region"),
        count(inputs.targets.len(), "target")
    ));
    for (region, n) in &regions {
        text.push_str(&format!("  {region:<16} {n:>6} {}\n", plural(*n, "target")));
    }
    if !inputs.all_regions.is_empty() {
        text.push_str(&format!(
            "  and {} with -r all: their targets are the regions each has enabled, listed when a run starts\n",
            count(inputs.all_regions.len(), "account")
        ));
    }
    printer.out(&text);
    Ok(Ended::Success)
}
