//! The nodes report (`--nodes-report FILE`, docs/report.md "The nodes report"): one CSV row
//! per managed node the node check saw, written and flushed as each target's check ends.
//! Cells are guarded as the report's are (a role may be named `=…`): a text cell starting
//! with `=`, `+`, `-`, `@`, a tab, a carriage return or `'` gets a leading `'`.

use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use crate::model::NodeLine;

/// The report's columns: [`NodeLine`]'s fields.
const COLUMNS: [&str; 9] = [
    "account_id",
    "region",
    "instance_id",
    "ping_status",
    "platform",
    "agent_version",
    "role",
    "fails",
    "why",
];

pub(crate) struct NodesReport {
    writer: Mutex<csv::Writer<File>>,
}

impl NodesReport {
    /// Creates the file (its directory too) and writes the header.
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(File::create(path)?);
        writer.write_record(COLUMNS)?;
        writer.flush()?;
        Ok(Self {
            writer: Mutex::new(writer),
        })
    }

    /// One target's nodes, flushed at once so a crash loses no finished target.
    pub(crate) fn write(&self, lines: &[NodeLine]) -> std::io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut w = self.writer.lock().expect("not poisoned");
        for l in lines {
            let cells = [
                &l.account_id,
                &l.region,
                &l.instance_id,
                &l.ping_status,
                &l.platform,
                &l.agent_version,
                &l.role,
                &l.fails,
                &l.why,
            ]
            .map(|c| guarded(c));
            w.write_record(&cells)?;
        }
        w.flush()
    }
}

fn guarded(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_columns_and_no_cell_is_a_formula() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/nodes.csv");
        let r = NodesReport::create(&path).unwrap();
        let mut line = NodeLine {
            account_id: "111111111111".into(),
            region: "eu-west-1".into(),
            instance_id: "i-1".into(),
            ping_status: "Online".into(),
            platform: "Linux".into(),
            agent_version: "2.3.100.0".into(),
            role: "arn:aws:iam::111111111111:role/=X".into(),
            ..NodeLine::default()
        };
        line.fail("NodeAgentTooOld", "kmsKeyId needs 2.3.539.0");
        line.fail("NodeRoleDenied", "=kms:Decrypt denied");
        r.write(&[line]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "account_id,region,instance_id,ping_status,platform,agent_version,role,fails,why\n\
             111111111111,eu-west-1,i-1,Online,Linux,2.3.100.0,arn:aws:iam::111111111111:role/=X,NodeAgentTooOld;NodeRoleDenied,kmsKeyId needs 2.3.539.0; =kms:Decrypt denied\n"
        );
    }
}
