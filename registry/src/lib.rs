//! What Convoy registers, and how: people with their passwords and bearer tokens, vehicles
//! with their MQTT passwords, and new moves. The CLI (`convoy user add`, `vehicle add`,
//! `move create`), the HTTP API and the MQTT door all come here, so each is made and checked
//! one way, and neither front end calls through the other's inputs.

pub mod credentials;
pub mod holds;
pub mod moves;
pub mod people;
pub mod phones;
pub mod vehicle_key;
pub mod vehicles;

pub use holds::{place_hold, release_hold, HoldError, HoldRequest, HoldScope};
pub use moves::{store_new_move, NewMoveError};
pub use people::{
    add_user, authenticate, login, password_is_right, reset_password, set_password, AddUserError,
};
pub use phones::{register_phone, verify_phone_secret, AddPhoneError, NewPhone};
pub use vehicles::{register_vehicle, rotate_vehicle_password};
