//! corral: a full-screen terminal multiplexer for supervising AI coding
//! agents. See `Design` in the README for the parts and how they depend on
//! each other: `cli -> client (ui -> app) -> proto -> server -> detect ->
//! profile -> config`, with `model`, `keys` and `pattern` as leaves that
//! depend on nothing of corral's; tests/architecture.rs derives the graph
//! from the source and fails on a cycle.

pub mod agent_hook;
pub mod agent_protocol;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod demo_acp;
pub mod demo_stream;
pub mod detect;
pub mod engine;
pub mod keymap;
pub mod keys;
pub mod model;
pub mod notify;
pub mod paths;
pub mod pattern;
pub mod policy;
pub mod profile;
pub mod proto;
pub mod sandbox;
pub mod server;
pub mod web;
pub mod worktree;
