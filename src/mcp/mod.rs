//! The MCP layer: tools, guardrails, and the server handler.

pub mod appview;
pub mod args;
pub mod confirm;
pub mod context;
pub mod dynamic;
pub mod error;
pub mod examples;
pub mod logread;
pub mod nodes;
pub mod paging;
pub mod prompts;
pub mod registry;
pub mod resolve;
pub mod runlocate;
pub mod runview;
pub mod schema;
pub mod secret;
pub mod server;
pub mod syncview;
pub mod tools;

pub use context::{ServerOptions, ToolCtx};
pub use error::ToolError;
pub use registry::{Hints, Registry, ToolDef, ToolEntry, ToolFilter, Toolset};
