//! The verdict as a person reads it.

use std::fmt::{self, Write as _};

use super::Verdict;

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(reason) = &self.not_a_bundle {
            writeln!(f, "This file is not a Convoy evidence bundle: {reason}.")?;
            return writeln!(f, "VERDICT: not a bundle");
        }
        if let Some(b) = &self.bundle {
            writeln!(
                f,
                "Evidence bundle of move {} ({}), exported {} by {}; fixes from {} until {}{}.",
                b.move_id,
                b.format,
                b.exported_at.to_rfc3339(),
                b.exported_by,
                b.from.to_rfc3339(),
                b.until.to_rfc3339(),
                if b.cut { " (cut at the auditor delay)" } else { "" }
            )?;
        }
        writeln!(f, "\nVehicles:")?;
        if self.vehicles.is_empty() {
            writeln!(f, "  none with fixes in the bundle")?;
        }
        for (vehicle, c) in &self.vehicles {
            let mut line = format!("  {vehicle}: {} fixes", c.fixes);
            if c.phone_fixes > 0 {
                let _ = write!(line, " (and {} from phones, unsigned)", c.phone_fixes);
            }
            if c.signed {
                let _ = write!(
                    line,
                    ", signed: {} covered by {} signed heads, keys {}",
                    c.covered_fixes,
                    c.heads_checked,
                    if c.keys.is_empty() { "none".to_string() } else { c.keys.join("; ") }
                );
                if c.unsigned_fixes > 0 {
                    let _ = write!(line, ", {} fixes unsigned", c.unsigned_fixes);
                }
            } else {
                line.push_str(", UNSIGNED (no key: nothing proves these fixes but the manifest)");
            }
            writeln!(f, "{line}")?;
            for (from, to) in &c.not_covered {
                writeln!(
                    f,
                    "    fixes seq {from} to {to} not covered by a signed head (the bundle stops before it)"
                )?;
            }
            if c.gaps.is_empty() {
                writeln!(f, "    gaps: none")?;
            }
            for g in &c.gaps {
                let secs = (g.to_t - g.from_t).num_milliseconds() as f64 / 1000.0;
                writeln!(
                    f,
                    "    gap after seq {} before seq {} ({} missing): {secs:.1} s from {} to {}; the agent reported spool drops then: {}",
                    g.after_seq,
                    g.before_seq,
                    g.before_seq - g.after_seq - 1,
                    g.from_t.to_rfc3339(),
                    g.to_t.to_rfc3339(),
                    if g.spool_drops { "yes" } else { "no" }
                )?;
            }
        }
        match &self.rules {
            Some(r) => writeln!(
                f,
                "\nAlerts: {} recorded by the rules, {} raised by replaying the rules over the bundle{}.",
                r.recorded,
                r.replayed,
                if r.outside_rules > 0 {
                    format!(
                        "; {} integrity or seal alerts (no rule makes them: not replayed)",
                        r.outside_rules
                    )
                } else {
                    String::new()
                }
            )?,
            None => writeln!(f, "\nAlerts: not replayed")?,
        }
        writeln!(f, "Audit: {} entries about the move, each hash recomputed.", self.audit_checked)?;
        writeln!(
            f,
            "Seal checkpoints: {}; seals seen broken or missing: {}, each checked against its seal alert.",
            self.counts.get("seal_checkpoint").copied().unwrap_or(0),
            self.seals_not_intact
        )?;
        match &self.manifest {
            Some(m) if m.key_given => {
                writeln!(f, "Manifest: sha256 {}, signed by key {} (the server key given).", m.sha256, m.key)?
            }
            Some(m) => writeln!(
                f,
                "Manifest: sha256 {}, signed by a key in the file ({}, {}); compare {} with the server's published key.",
                m.sha256, m.key, m.public_key, m.key
            )?,
            None => writeln!(f, "Manifest: missing")?,
        }
        if self.failures.is_empty() {
            writeln!(f, "\nVERDICT: holds")
        } else {
            writeln!(f, "\nVERDICT: does not hold")?;
            for failure in &self.failures {
                writeln!(f, "  - {failure}")?;
            }
            if self.more_failures > 0 {
                writeln!(f, "  - and {} more failures", self.more_failures)?;
            }
            Ok(())
        }
    }
}
