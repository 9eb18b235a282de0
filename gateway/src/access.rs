//! Who may see what. Roles decide which endpoints a person may call (each handler says which
//! with `Authenticated::require`); for an escort, the moves they are assigned to also decide
//! which moves, vehicles and alerts they see.

use std::collections::HashSet;

use axum::http::StatusCode;
use convoy_core::live::LiveEvent;
use convoy_core::{Role, VehicleId};
use convoy_store::{MoveRecord, Store, StoreError, User};

use crate::http::{ApiError, AppState};

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
        }
    }

    pub(crate) fn sees_vehicle(&self, id: &VehicleId) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Assigned { vehicles, .. } => vehicles.contains(id),
        }
    }
}

/// The move `id` if `user` may see it: 404 when there is none, 403 for an escort not assigned
/// to it.
pub(crate) async fn visible_move(state: &AppState, user: &User, id: &str) -> Result<MoveRecord, ApiError> {
    let record = state
        .store
        .move_record(id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no such move"))?;
    if !Scope::user_sees_move(&state.store, user, id).await? {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "you are not assigned to this move"));
    }
    Ok(record)
}
