//! Integration tests against the real MariaDB and RabbitMQ (one binary, so it links once).

mod account;
mod backbone;
mod browser;
mod cli;
mod ending;
mod failures;
mod feed;
mod guests;
mod health;
mod install;
mod kitchen;
mod menu;
mod migrations;
mod notifications;
mod ops;
mod pacing;
mod payments;
mod proof;
mod report;
mod retention;
mod security;
mod staff;
mod stock;
mod stripe_faults;
mod web;
mod zones;
