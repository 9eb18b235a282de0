//! The bundle's audit entries (those about the move and its alerts, so not every seq): each
//! entry's hash recomputed from its fields as the store does, and consecutive seqs linked.

use convoy_history::evidence::lines::AuditLine;

#[derive(Default)]
pub struct AuditCheck {
    pub checked: u64,
    last: Option<(u64, String)>,
}

impl AuditCheck {
    pub fn entry(&mut self, line: &AuditLine, failures: &mut Vec<String>) {
        self.checked += 1;
        let what = format!("audit entry {} ({} on {})", line.seq, line.action, line.target);
        match line.entry() {
            None => failures.push(format!("{what}: its time {:?} is not a time", line.at)),
            Some(entry) if entry.computed_hash() != line.hash => {
                failures.push(format!("{what}: its fields no longer give its hash (the entry was changed)"))
            }
            Some(_) => {}
        }
        if let Some((seq, hash)) = &self.last {
            if line.seq <= *seq {
                failures.push(format!("{what}: comes after entry {seq} (entries reordered or repeated)"));
            } else if line.seq == seq + 1 && &line.prev_hash != hash {
                failures.push(format!("{what}: does not link to entry {seq} before it"));
            }
        }
        self.last = Some((line.seq, line.hash.clone()));
    }
}
