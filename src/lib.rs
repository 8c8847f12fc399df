//! corral: a full-screen terminal multiplexer for supervising AI coding
//! agents. See `DESIGN` in the README for the parts and how they depend on
//! each other: `main/cli -> app -> ui`, `app -> session -> detect`, with
//! `engine`, `keys`, `keymap` and `config` as shared leaves.

pub mod agent_hook;
pub mod app;
pub mod config;
pub mod demo;
pub mod detect;
pub mod engine;
pub mod keymap;
pub mod keys;
pub mod paths;
pub mod policy;
pub mod profile;
pub mod proto;
pub mod session;
pub mod ui;
