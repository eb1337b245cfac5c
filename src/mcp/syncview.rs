//! Whether Jenkins has a pipeline or credential yet, as upstream reports it
//! (U11).
//!
//! Upstream facts: creating a Pipeline puts no sync annotation on it (the
//! `pending` goes on a throw-away copy of the project); the Pipeline
//! controller only ever writes `syncstatus=successful`, never `failed`,
//! `synctime` or `syncmsg`. Credentials get `pending` on create/update and
//! then only `successful`. So "no annotation" and `pending` both mean "not
//! in Jenkins yet", and a failed sync never shows: it just stays that way.

use schemars::JsonSchema;
use serde::Serialize;

/// Jenkins sync state of a pipeline or credential.
#[derive(Clone, Copy, Debug, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Jenkins has it: it can be run (pipeline) or used (credential).
    Successful,
    /// Not in Jenkins yet (usually for a few seconds after a change).
    /// KubeSphere never reports a failed sync: one that stays pending for
    /// more than a minute or two has failed.
    Pending,
}

impl SyncStatus {
    /// From the `.../syncstatus` annotation (absent = not synced yet).
    pub fn of(annotation: Option<&str>) -> SyncStatus {
        match annotation.map(str::trim) {
            Some("successful") => SyncStatus::Successful,
            _ => SyncStatus::Pending,
        }
    }

    /// What an agent should make of a pending state.
    pub fn pending_hint(what: &str) -> String {
        format!(
            "Jenkins does not have this {what} yet; it usually syncs within seconds. KubeSphere never reports a failed sync: if it stays pending for more than a minute or two, the sync failed (check the {what}'s settings, e.g. its repository URL or credential, and tell the user)."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_and_pending_are_not_synced() {
        assert_eq!(SyncStatus::of(None), SyncStatus::Pending);
        assert_eq!(SyncStatus::of(Some("pending")), SyncStatus::Pending);
        assert_eq!(SyncStatus::of(Some("successful")), SyncStatus::Successful);
    }
}
