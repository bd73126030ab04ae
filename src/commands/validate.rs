//! `validate`: the files and the selection checked, no AWS call.

use super::inputs::{load_inputs, region_totals, warn_all};
use super::sinks::Ended;
use crate::cli::ValidateArgs;
use crate::error::InputError;
use crate::preferences::{self, BUILTIN_PLACEHOLDERS};

pub fn validate(args: &ValidateArgs) -> Result<Ended, InputError> {
    let Some(inventory) = &args.inventory else {
        let prefs = preferences::load(&args.prefs.preferences)?;
        warn_all(&prefs.warnings);
        for (name, line) in &prefs.placeholders {
            if !BUILTIN_PLACEHOLDERS.contains(&name.as_str()) {
                eprintln!(
                    "warning: {}:{line}: placeholder {{{name}}} must come from inventory vars: pass -i to check every target has it",
                    prefs.path.display()
                );
            }
        }
        println!(
            "{}: valid ({} warnings)",
            prefs.path.display(),
            prefs.warnings.len()
        );
        return Ok(Ended::Success);
    };
    let inputs = load_inputs(&args.prefs, inventory, &args.select)?;
    let accounts: std::collections::BTreeSet<_> =
        inputs.targets.iter().map(|t| t.account_id()).collect();
    let regions = region_totals(&inputs.targets);
    println!(
        "{}: valid ({} warnings)",
        inputs.prefs.path.display(),
        inputs.prefs.warnings.len()
    );
    println!(
        "{}: {} accounts × {} regions = {} targets",
        inputs.inventory_path.display(),
        accounts.len(),
        regions.len(),
        inputs.targets.len()
    );
    for (region, n) in &regions {
        println!("  {region:<16} {n:>6} targets");
    }
    if !inputs.all_regions.is_empty() {
        println!(
            "  and {} accounts with -r all: their targets are the regions each has enabled, listed when a run starts",
            inputs.all_regions.len()
        );
    }
    Ok(Ended::Success)
}
