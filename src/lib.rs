//! ks-devops-mcp: an MCP server that lets AI agents operate KubeSphere
//! DevOps as a namespace-scoped tenant.
//!
//! Layers: [`kubesphere`] (the HTTP client, no MCP inside), [`mcp`] (tools,
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
pub mod kubesphere;
pub mod mcp;
pub mod stdio;
pub mod text;

#[cfg(test)]
pub(crate) mod testing;
