//! KubeSphere client: HTTP, auth, routing, errors and typed models.
//! Knows nothing of MCP: this crate depends on no MCP crate (rmcp, schemars,
//! axum), and its errors say what failed, never which tool to call next (the
//! MCP layer, `ks_devops_mcp::mcp`, adds that).

pub mod access;
mod api;
pub mod auth;
pub mod authoring;
pub mod branches;
pub mod ci;
mod client;
pub mod creds;
pub mod error;
pub mod gitops;
pub mod gitops_edit;
pub mod logs;
pub mod models;
pub mod path;
mod pipelines;
pub mod project_admin;
pub mod quality;
pub mod redact;
pub mod repo_browse;
pub mod repos;
pub mod run_admin;
pub mod runs;
pub mod templates;
pub mod text;

pub use api::{ListQuery, PROJECT_CACHE_TTL};
pub use auth::{Credentials, OAuthClient};
pub use client::{Body, ClientSettings, Identity, KsClient, RawResponse, summarize_body};
pub use error::{IdKind, KsError, KsResult};
pub use path::{ApiPath, BranchName, Cluster};
