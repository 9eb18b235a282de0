//! The sections of a bundle, in the order they are written. A verifier refuses a line whose
//! section comes before the previous line's.
//!
//! The order differs from the plain reading order in one place, on purpose: the signed heads
//! and chain gaps come **before** the fixes, so a verifier checks each head as the fixes
//! stream past and keeps one entry per head, never one per fix (a day at 10 Hz is 864,000
//! fixes but about 86,000 heads).

/// A section of the bundle. The declaration order is the file's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    Bundle,
    Plan,
    PlanVersion,
    VehicleKey,
    SignedHead,
    ChainGap,
    Fix,
    AgentStatus,
    Alert,
    /// The move's seal checkpoints (custody records); a verifier checks each broken or
    /// missing seal against its `seal` alert.
    SealCheckpoint,
    Audit,
    Report,
    Manifest,
}

impl Section {
    pub const ALL: [Section; 13] = [
        Section::Bundle,
        Section::Plan,
        Section::PlanVersion,
        Section::VehicleKey,
        Section::SignedHead,
        Section::ChainGap,
        Section::Fix,
        Section::AgentStatus,
        Section::Alert,
        Section::SealCheckpoint,
        Section::Audit,
        Section::Report,
        Section::Manifest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Section::Bundle => "bundle",
            Section::Plan => "plan",
            Section::PlanVersion => "plan_version",
            Section::VehicleKey => "vehicle_key",
            Section::SignedHead => "signed_head",
            Section::ChainGap => "chain_gap",
            Section::Fix => "fix",
            Section::AgentStatus => "agent_status",
            Section::Alert => "alert",
            Section::SealCheckpoint => "seal_checkpoint",
            Section::Audit => "audit",
            Section::Report => "report",
            Section::Manifest => "manifest",
        }
    }

    pub fn parse(name: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Sections that appear exactly once.
    pub fn is_single(self) -> bool {
        matches!(self, Section::Bundle | Section::Plan | Section::Report | Section::Manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_and_all_is_in_file_order() {
        for (i, s) in Section::ALL.iter().enumerate() {
            assert_eq!(Section::parse(s.name()), Some(*s));
            if i > 0 {
                assert!(Section::ALL[i - 1] < *s);
            }
        }
        assert_eq!(Section::parse("fixes"), None);
    }
}
