//! The web front: the HTTP server customers and staff use, and the `ocpizza` admin command.
//!
//! # Layout
//! - [`startup`]: builds the app from settings, binds, serves until a shutdown future resolves
//!   (tests bind port 0 and run the very same code);
//! - [`health`]: `/healthz` (process up) and `/readyz` (database and broker reachable).
#![forbid(unsafe_code)]

pub mod health;
pub mod startup;

pub use startup::{AppState, Application};
