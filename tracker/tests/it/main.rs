//! Integration tests of swarm-tracker over real HTTP: one binary, a module per area. Each
//! test starts its own server on 127.0.0.1:0 (see `support`).

#![allow(clippy::unwrap_used)]

mod announce;
mod browser;
mod confine;
mod fleet_page;
mod guard;
mod interop;
mod limits;
mod manager;
mod metrics;
mod scrape;
mod seeding;
mod session;
mod support;
mod tidy;
