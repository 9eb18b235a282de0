//! The `convoy` binary's library: wires the parts (store, embedded broker, ingest, HTTP) into
//! one process, and runs the demo. Each part lives in its own crate; this one only connects
//! them.

pub mod base_map;
pub mod config;
pub mod connection_budget;
pub mod demo;
pub mod evidence_key;
pub mod loadgen;
pub mod pty;
pub mod retained;
pub mod server;
