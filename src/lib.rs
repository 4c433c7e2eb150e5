//! Passerelle: an authentication gateway in front of PRONOTE.net.
//!
//! A reverse proxy that decides, per PRONOTE space, how people log in, keeps their sessions, hands
//! their identity to the upstream in signed headers, and suspends addresses that fail too often. The
//! binary (`src/main.rs`) is a thin CLI over this library; tests and benches use the same code.
//!
//! Start with [`server`] (listeners and the request path), then [`auth`] (the login flow),
//! [`session`] and [`proxy`].

pub mod admin;
pub mod auth;
pub mod cas_server;
pub mod clock;
pub mod config;
pub mod demo;
pub mod guard;
pub mod identity;
pub mod proxy;
pub mod server;
pub mod session;
pub mod space;
pub mod telemetry;
pub mod ui;
pub mod web;
