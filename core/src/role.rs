//! The roles people have in Convoy.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a person may do: `admin` everything; `dispatcher` plans moves, manages vehicles and
/// acknowledges alerts; `escort` watches the moves assigned to them; `auditor` reads history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Dispatcher,
    Escort,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Dispatcher, Role::Escort, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Escort => "escort",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}; expected admin, dispatcher, escort or auditor"))
    }
}

/// Something a person may do. [`Ability::roles`] is the one table of who may do what: the
/// gateway's handlers check it, `GET /api/v1/me` gives the page a person's list, and the OpenAPI
/// document states each operation's roles from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ability {
    /// Watch vehicles live (the live feed and its tickets).
    Live,
    /// Acknowledge and resolve alerts.
    Acknowledge,
    /// Plan moves: create them, preview routes, name their escort team.
    Plan,
    /// Register vehicles.
    Vehicles,
    /// Read a vehicle's stored track.
    Track,
    /// Replay a move.
    Replay,
    /// Download a move's tracks (GPX, GeoJSON, KML, CSV).
    Exports,
    /// Read a move's report.
    Report,
    /// Read the audit log.
    Audit,
    /// Manage people: list, add, change their role, disable and enable them, reset their
    /// password, end their sessions.
    Users,
    /// Register and remove the phones that report a vehicle's positions: each hands out a
    /// secret, and a person's phone follows that person.
    Phones,
    /// Place and release legal holds, which keep positions past retention.
    Holds,
    /// See the legal holds, in force and released.
    ViewHolds,
    /// Record a seal checkpoint (which seals were seen intact, broken or missing) on a move.
    Checkpoints,
    /// Export a move's evidence bundle (everything recorded of it, signed by the server).
    Evidence,
}

const EVERYONE_BUT_AUDITORS: &[Role] = &[Role::Admin, Role::Dispatcher, Role::Escort];
const PLANNERS: &[Role] = &[Role::Admin, Role::Dispatcher];
const HISTORY_READERS: &[Role] = &[Role::Admin, Role::Dispatcher, Role::Auditor];

impl Ability {
    pub const ALL: [Ability; 15] = [
        Ability::Live,
        Ability::Acknowledge,
        Ability::Plan,
        Ability::Vehicles,
        Ability::Track,
        Ability::Replay,
        Ability::Exports,
        Ability::Report,
        Ability::Audit,
        Ability::Users,
        Ability::Phones,
        Ability::Holds,
        Ability::ViewHolds,
        Ability::Checkpoints,
        Ability::Evidence,
    ];

    /// The roles that may do this. Auditors work from the record: never live, never acting on
    /// alerts. Escorts watch and acknowledge their own moves only (the gateway's scope narrows
    /// what they see); history is for those who plan and those who audit.
    pub fn roles(self) -> &'static [Role] {
        match self {
            // Those on the road record what they see; auditors read checkpoints, never make them.
            Ability::Live | Ability::Acknowledge | Ability::Checkpoints => EVERYONE_BUT_AUDITORS,
            Ability::Plan | Ability::Vehicles => PLANNERS,
            Ability::Track | Ability::Replay | Ability::Exports | Ability::Report => HISTORY_READERS,
            Ability::Audit => &[Role::Admin, Role::Auditor],
            Ability::Users | Ability::Phones => &[Role::Admin],
            // Keeping data past retention, or letting it go, is an admin's decision; auditors
            // check what is kept and why.
            Ability::Holds => &[Role::Admin],
            Ability::ViewHolds => &[Role::Admin, Role::Auditor],
            // The whole record of a move, for those who must prove it to others.
            Ability::Evidence => &[Role::Admin, Role::Auditor],
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Ability::Live => "live",
            Ability::Acknowledge => "acknowledge",
            Ability::Plan => "plan",
            Ability::Vehicles => "vehicles",
            Ability::Track => "track",
            Ability::Replay => "replay",
            Ability::Exports => "exports",
            Ability::Report => "report",
            Ability::Audit => "audit",
            Ability::Users => "users",
            Ability::Phones => "phones",
            Ability::Holds => "holds",
            Ability::ViewHolds => "view_holds",
            Ability::Checkpoints => "checkpoints",
            Ability::Evidence => "evidence",
        }
    }
}

impl Role {
    /// Whether this role may do `ability`.
    pub fn may(self, ability: Ability) -> bool {
        ability.roles().contains(&self)
    }

    /// Everything this role may do, in [`Ability::ALL`]'s order.
    pub fn abilities(self) -> Vec<Ability> {
        Ability::ALL.into_iter().filter(|a| self.may(*a)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_may_do_everything_and_every_ability_has_a_role() {
        assert_eq!(Role::Admin.abilities(), Ability::ALL.to_vec());
        for ability in Ability::ALL {
            assert!(!ability.roles().is_empty(), "{ability:?}");
        }
    }

    #[test]
    fn auditors_never_watch_live_or_act_on_alerts() {
        assert!(!Role::Auditor.may(Ability::Live));
        assert!(!Role::Auditor.may(Ability::Acknowledge));
        assert!(Role::Auditor.may(Ability::Audit) && Role::Auditor.may(Ability::Replay));
    }

    #[test]
    fn only_admins_register_phones() {
        // A phone's registration hands out its secret, and a person's phone follows them.
        assert_eq!(Ability::Phones.roles(), &[Role::Admin]);
    }

    #[test]
    fn escorts_watch_acknowledge_and_record_checkpoints_only() {
        assert_eq!(Role::Escort.abilities(), vec![Ability::Live, Ability::Acknowledge, Ability::Checkpoints]);
    }

    #[test]
    fn names_on_the_wire_are_the_serde_names() {
        for ability in Ability::ALL {
            assert_eq!(serde_json::to_value(ability).unwrap(), ability.as_str());
        }
    }
}
