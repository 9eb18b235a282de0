//! How many connections the process can hold, and who goes when it holds that many.
//!
//! Every connection costs file descriptors, and the process has a limit of them
//! (`RLIMIT_NOFILE`, often 1,024). Past it nothing can be opened: not a connection to
//! `/healthz`, not the database. So the server raises its limit to the most the system allows
//! ([`open_files`]), derives from it a cap of connections per listener that leaves room for
//! everything else ([`budget`]), and admits every accepted connection through a [`Gate`] that
//! keeps to that cap by closing connections that have not yet said anything ([`gate`]) rather
//! than letting them starve the ones that have.

pub mod budget;
pub mod gate;
mod metrics;
pub mod open_files;
mod warn_limit;

pub use budget::{Caps, Needs};
pub use gate::{Admitted, Busy, Gate};
pub use metrics::ConnectionMetrics;
pub use warn_limit::WarnLimit;
