//! The audit log of admin changes: a structured `tracing` event on target `audit`, and, when
//! `[admin] audit_file` is set, one JSON line appended to that file per change. The last
//! [`RECENT`] changes made through this process are also kept in memory for the admin page.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// One admin change.
#[derive(Debug, Serialize)]
pub struct AuditEvent<'a> {
    /// Unix seconds.
    pub at: u64,
    /// The token label.
    pub who: &'a str,
    /// The admin client's address.
    pub from: String,
    pub action: &'a str,
    pub target: String,
    pub result: String,
}

/// How many recent changes the admin page shows.
pub const RECENT: usize = 50;

/// A change as kept for the admin page.
#[derive(Debug, Clone)]
pub struct RecentEvent {
    pub at: u64,
    pub who: String,
    pub from: String,
    pub action: String,
    pub target: String,
    pub result: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    file: Option<Arc<Mutex<std::fs::File>>>,
    recent: Arc<Mutex<VecDeque<RecentEvent>>>,
}

impl AuditLog {
    /// Open (create, append) the audit file if one is configured.
    pub fn open(path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            Some(path) => Some(Arc::new(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ))),
            None => None,
        };
        Ok(AuditLog {
            file,
            recent: Arc::default(),
        })
    }

    /// The latest changes made through this process, newest first.
    pub fn recent(&self) -> Vec<RecentEvent> {
        let recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.iter().rev().cloned().collect()
    }

    pub fn record(&self, event: &AuditEvent<'_>) {
        tracing::info!(target: "audit", at = event.at, who = event.who, from = %event.from,
            action = event.action, target_ = %event.target, result = %event.result, "modification d'administration");
        {
            let mut recent = self
                .recent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(RecentEvent {
                at: event.at,
                who: event.who.to_owned(),
                from: event.from.clone(),
                action: event.action.to_owned(),
                target: event.target.clone(),
                result: event.result.clone(),
            });
        }
        let Some(file) = &self.file else { return };
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        let mut file = file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // One write call per line, file opened in append mode: lines never interleave.
        if let Err(err) = file.write_all(&line) {
            tracing::error!(error = %err, "écriture du journal d'audit impossible");
        }
    }
}
