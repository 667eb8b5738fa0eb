//! The web front: the HTTP server customers and staff use, and the `ocpizza` admin command.
//!
//! # Layout
//! - [`startup`]: builds the app from settings, binds, serves until a shutdown future resolves
//!   (tests bind port 0 and run the very same code);
//! - [`serve`]: the accept loop with header-read, idle and request timeouts;
//! - [`state`]: [`AppState`], what every handler reaches;
//! - [`routes`]: the pages' route table;
//! - [`views`]: what pages, staff screens and the API all show (orders, shops, menus, times);
//! - [`lookup`]: finding what a request names, within what its user may reach;
//! - [`headers`]: the security headers and Content-Security-Policy of every answer;
//! - [`health`]: `/healthz` (process up) and `/readyz` (database and broker reachable);
//! - [`metrics`]: `/metrics` for Prometheus (orders, messages, outbox, dead letters, HTTP);
//! - [`session`]: sessions in MariaDB, the logged-in user, CSRF, login throttling;
//! - [`signing`]: what `SECRET_KEY` signs (CSRF tokens, known-device cookies);
//! - [`page`]: templates and what every page needs;
//! - [`shops`], [`accounts`], [`password`], [`cart`], [`orders`]: the customer's pages (French);
//! - [`staff`]: the staff screens (kitchen, counter, delivery, manager, admin);
//! - [`webhook`]: Stripe's webhook;
//! - [`api`]: the JSON API and its OpenAPI document;
//! - [`error`]: the one mapping from errors to responses;
//! - [`extract`]: the pages' `Path`, `Query` and `Form`, refusing in French.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod api;
pub mod cart;
pub mod error;
pub mod extract;
pub mod headers;
pub mod health;
pub mod lookup;
pub mod metrics;
pub mod orders;
pub mod page;
pub mod password;
pub mod routes;
pub mod serve;
pub mod session;
pub mod shops;
pub mod staff;
pub mod startup;
pub mod state;
pub mod views;
pub mod webhook;

pub use error::{ApiError, WebError};
pub use startup::Application;
pub use state::AppState;
