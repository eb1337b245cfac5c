//! ks-devops-mcp: an MCP server that lets AI agents operate KubeSphere
//! DevOps as a namespace-scoped tenant.
//!
//! Layers: [`kubesphere`] (the HTTP client, crate `ks-client`, no MCP inside), [`mcp`] (tools,
//! guardrails and the MCP server handler), [`http`] (the streamable HTTP
//! transport with per-caller identity) and [`stdio`] (newline-delimited
//! JSON-RPC; `main.rs` puts the server on it). Both transports check every
//! message first ([`jsonrpc`]) so that each gets an answer.
//! The simulated KubeSphere lives in its own crate, `ks-sim`.

pub mod catalog;
pub mod config;
pub mod doctor;
pub mod http;
pub mod jsonrpc;
pub mod mcp;
pub mod stdio;

#[cfg(test)]
pub(crate) mod testing;

/// The KubeSphere client lives in its own crate (`client/`, `ks-client`),
/// which depends on no MCP crate: the layer rule is a build error.
pub use ks_client as kubesphere;
pub use ks_client::text;
