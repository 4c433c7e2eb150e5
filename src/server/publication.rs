//! Publishing and unpublishing spaces at runtime, without touching the configuration files.
//!
//! A space file says whether a space is published; an administrator can override that per space through
//! the admin API (PRONOTE's "arrêter la publication" button). An override wins over the file until it is
//! reset. Overrides are kept:
//!
//! - with Redis: in one hash (`<prefix>publication`) shared by every replica; each replica reads it
//!   every second ([`PUBLICATION_TICK`]) so that a change made on one reaches all, and the request path
//!   never waits for Redis;
//! - with the memory store: in a small JSON state file (`[store] state_file`), written atomically
//!   (temporary file + rename), read at start.
//!
//! Not in the space files themselves: those are versioned, possibly read-only (a ConfigMap), and
//! rewriting them would lose comments and fight with hot reload.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::config::{SpaceSettings, SpaceTable};
use crate::space::SpaceId;

/// How often a replica re-reads the shared overrides.
pub const PUBLICATION_TICK: Duration = Duration::from_secs(1);
/// How long one Redis call may take before the replica keeps what it knew.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

const FOLLOW_FILE: u8 = 0;
const PUBLISHED: u8 = 1;
const UNPUBLISHED: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum PublicationError {
    #[error("état de publication partagé indisponible : {0}")]
    Redis(String),
    #[error("fichier d'état {path} : {reason}")]
    File { path: PathBuf, reason: String },
}

impl PublicationError {
    /// A stable code for the API.
    pub fn code(&self) -> &'static str {
        match self {
            PublicationError::Redis(_) => "publication_store_unavailable",
            PublicationError::File { .. } => "state_file_unwritable",
        }
    }
}

enum Backend {
    Redis {
        connection: ConnectionManager,
        key: String,
    },
    File(PathBuf),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Redis { key, .. } => write!(f, "Redis({key})"),
            Backend::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

#[derive(Debug)]
struct Inner {
    /// One of `FOLLOW_FILE`, `PUBLISHED`, `UNPUBLISHED` per space: read on every page request.
    overrides: [AtomicU8; SpaceId::ALL.len()],
    backend: Backend,
    /// Writers take turns so that two changes to the state file never interleave.
    writing: tokio::sync::Mutex<()>,
}

/// Cheap to clone; every clone sees the same overrides.
#[derive(Debug, Clone)]
pub struct Publication {
    inner: Arc<Inner>,
}

impl Publication {
    fn with(backend: Backend) -> Self {
        Publication {
            inner: Arc::new(Inner {
                overrides: std::array::from_fn(|_| AtomicU8::new(FOLLOW_FILE)),
                backend,
                writing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Overrides shared through Redis; call [`Publication::refresh`] to read them.
    pub fn redis(connection: ConnectionManager, prefix: &str) -> Self {
        Publication::with(Backend::Redis {
            connection,
            key: format!("{prefix}publication"),
        })
    }

    /// Overrides kept in `path`, read now. A missing file means no override; an unreadable one is an
    /// error, so that a space an administrator unpublished is never silently published again.
    pub fn file(path: &Path) -> Result<Self, PublicationError> {
        let publication = Publication::with(Backend::File(path.to_owned()));
        match std::fs::read(path) {
            Ok(bytes) => {
                let overrides: BTreeMap<String, bool> = serde_json::from_slice(&bytes)
                    .map_err(|err| file_error(path, err.to_string()))?;
                publication
                    .apply(&overrides)
                    .map_err(|r| file_error(path, r))?;
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(file_error(path, err.to_string())),
        }
        Ok(publication)
    }

    /// The runtime choice for `space`, if an administrator made one.
    pub fn override_of(&self, space: SpaceId) -> Option<bool> {
        match self.inner.overrides[space as usize].load(Ordering::Relaxed) {
            PUBLISHED => Some(true),
            UNPUBLISHED => Some(false),
            _ => None,
        }
    }

    /// `space`'s settings with the runtime choice applied: borrowed when nothing overrides the file.
    pub fn settings<'a>(
        &self,
        spaces: &'a SpaceTable,
        space: SpaceId,
    ) -> std::borrow::Cow<'a, SpaceSettings> {
        let file = spaces.get(space);
        match self.override_of(space) {
            Some(published) if published != file.published => {
                let mut settings = file.clone();
                settings.published = published;
                std::borrow::Cow::Owned(settings)
            }
            _ => std::borrow::Cow::Borrowed(file),
        }
    }

    /// Publish (`Some(true)`), unpublish (`Some(false)`) or return to the file's value (`None`) for
    /// `spaces`. Stored first, applied locally once stored.
    pub async fn set(
        &self,
        spaces: &[SpaceId],
        choice: Option<bool>,
    ) -> Result<(), PublicationError> {
        let _turn = self.inner.writing.lock().await;
        match &self.inner.backend {
            Backend::Redis { connection, key } => {
                let mut con = connection.clone();
                let names: Vec<&str> = spaces.iter().map(|s| s.as_str()).collect();
                match choice {
                    Some(published) => {
                        let pairs: Vec<(&str, u8)> = names
                            .iter()
                            .map(|name| (*name, u8::from(published)))
                            .collect();
                        bounded(con.hset_multiple::<_, _, _, ()>(key, &pairs)).await?;
                    }
                    None => bounded(con.hdel::<_, _, ()>(key, names)).await?,
                }
                self.refresh().await
            }
            Backend::File(path) => {
                let mut next = self.snapshot();
                for space in spaces {
                    match choice {
                        Some(published) => next.insert(space.as_str().to_owned(), published),
                        None => next.remove(space.as_str()),
                    };
                }
                write_atomically(path, &next).await?;
                self.apply(&next).map_err(|r| file_error(path, r))
            }
        }
    }

    /// Re-read the shared overrides (Redis); nothing to do for the state file, which only this process
    /// writes.
    pub async fn refresh(&self) -> Result<(), PublicationError> {
        let Backend::Redis { connection, key } = &self.inner.backend else {
            return Ok(());
        };
        let mut con = connection.clone();
        let stored: BTreeMap<String, u8> = bounded(con.hgetall(key)).await?;
        let overrides = stored
            .into_iter()
            .map(|(space, value)| (space, value == 1))
            .collect();
        self.apply(&overrides).map_err(PublicationError::Redis)
    }

    fn snapshot(&self) -> BTreeMap<String, bool> {
        SpaceId::ALL
            .iter()
            .filter_map(|space| Some((space.as_str().to_owned(), self.override_of(*space)?)))
            .collect()
    }

    /// Replace every override with `overrides` (space name → published).
    fn apply(&self, overrides: &BTreeMap<String, bool>) -> Result<(), String> {
        let mut next = [FOLLOW_FILE; SpaceId::ALL.len()];
        for (name, published) in overrides {
            let space: SpaceId = name
                .parse()
                .map_err(|_| format!("espace inconnu « {name} »"))?;
            next[space as usize] = if *published { PUBLISHED } else { UNPUBLISHED };
        }
        for (slot, value) in self.inner.overrides.iter().zip(next) {
            slot.store(value, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn file_error(path: &Path, reason: String) -> PublicationError {
    PublicationError::File {
        path: path.to_owned(),
        reason,
    }
}

async fn bounded<T>(
    call: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, PublicationError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, call).await {
        Ok(result) => result.map_err(|err| PublicationError::Redis(err.to_string())),
        Err(_) => Err(PublicationError::Redis("délai dépassé".to_owned())),
    }
}

/// Write then rename: a crash mid-write leaves the previous file, never half of one.
async fn write_atomically(
    path: &Path,
    overrides: &BTreeMap<String, bool>,
) -> Result<(), PublicationError> {
    let mut text =
        serde_json::to_vec_pretty(overrides).map_err(|e| file_error(path, e.to_string()))?;
    text.push(b'\n');
    let temporary = path.with_extension("json.tmp");
    tokio::fs::write(&temporary, text)
        .await
        .map_err(|err| file_error(&temporary, err.to_string()))?;
    tokio::fs::rename(&temporary, path)
        .await
        .map_err(|err| file_error(path, err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_state_file_survives_a_restart_and_a_reset_removes_the_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let first = Publication::file(&path).unwrap();
        assert_eq!(first.override_of(SpaceId::Parent), None);
        first
            .set(&[SpaceId::Parent, SpaceId::Eleve], Some(false))
            .await
            .unwrap();
        first.set(&[SpaceId::Eleve], None).await.unwrap();

        let again = Publication::file(&path).unwrap();
        assert_eq!(again.override_of(SpaceId::Parent), Some(false));
        assert_eq!(again.override_of(SpaceId::Eleve), None);
    }

    #[test]
    fn a_corrupt_state_file_is_an_error_not_a_silent_republication() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{\"parent\": false, \"cantine\": true}").unwrap();
        let err = Publication::file(&path).unwrap_err().to_string();
        assert!(err.contains("cantine"), "{err}");
        std::fs::write(&path, "pas du json").unwrap();
        assert!(Publication::file(&path).is_err());
    }
}
