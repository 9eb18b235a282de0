//! Who may see what. Roles decide which endpoints a person may call (each handler says which
//! with `Authenticated::require`); for an escort, the moves they are assigned to also decide
//! which moves, vehicles and alerts they see.

use std::collections::HashSet;

use axum::http::StatusCode;
use convoy_core::live::LiveEvent;
use convoy_core::{Role, VehicleId};
use convoy_store::{MoveRecord, Store, StoreError, User};

use crate::error::ApiError;
use crate::state::AppState;

/// What part of the fleet a person sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every move and vehicle (admin, dispatcher, auditor).
    Everything,
    /// The moves an escort is assigned to, and the vehicles of those not yet ended.
    Assigned { moves: HashSet<String>, vehicles: HashSet<VehicleId> },
}

impl Scope {
    pub(crate) async fn of(store: &Store, user: &User) -> Result<Scope, StoreError> {
        if user.role != Role::Escort {
            return Ok(Scope::Everything);
        }
        let moves: HashSet<String> = store.moves_of_user(&user.name).await?.into_iter().collect();
        let now = chrono::Utc::now();
        // A move's vehicles only while it runs: once it has ended they may carry another
        // team's move.
        let vehicles = store
            .move_crews()
            .await?
            .into_iter()
            .filter(|crew| moves.contains(&crew.id) && !crew.has_ended(now))
            .flat_map(|crew| crew.vehicles)
            .collect();
        Ok(Scope::Assigned { moves, vehicles })
    }

    /// Whether `user` may see move `id`: for that, an escort's assignments are enough.
    pub(crate) async fn user_sees_move(store: &Store, user: &User, id: &str) -> Result<bool, StoreError> {
        Ok(user.role != Role::Escort || store.moves_of_user(&user.name).await?.iter().any(|m| m == id))
    }

    pub(crate) fn sees_move(&self, id: &str) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Assigned { moves, .. } => moves.contains(id),
        }
    }

    /// Whether a live event concerns what this scope sees.
    pub(crate) fn sees(&self, event: &LiveEvent) -> bool {
        match event {
            LiveEvent::Position { vehicle, .. } | LiveEvent::Status { vehicle, .. } => {
                self.sees_vehicle(vehicle)
            }
            LiveEvent::Alert { alert } => self.sees_move(&alert.move_id),
            LiveEvent::Progress { progress } => {
                self.sees_move(&progress.move_id) && self.sees_vehicle(&progress.vehicle)
            }
            LiveEvent::ProgressEnded { move_id } => self.sees_move(move_id),
        }
    }

    pub(crate) fn sees_vehicle(&self, id: &VehicleId) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Assigned { vehicles, .. } => vehicles.contains(id),
        }
    }
}

/// The move `id` if `user` may see it. A move an escort is not assigned to is answered exactly
/// as one that does not exist (404), so an escort cannot learn which move ids exist.
pub(crate) async fn visible_move(state: &AppState, user: &User, id: &str) -> Result<MoveRecord, ApiError> {
    let no_such_move = || ApiError::new(StatusCode::NOT_FOUND, "no such move");
    if !Scope::user_sees_move(&state.store, user, id).await? {
        return Err(no_such_move());
    }
    state.store.move_record(id).await?.ok_or_else(no_such_move)
}
