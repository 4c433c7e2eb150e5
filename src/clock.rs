//! Wall-clock time in whole seconds, replaceable in tests so that expiry is tested without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, from the system or from a hand-driven test clock.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    Manual(Arc<AtomicU64>),
}

impl Clock {
    /// A test clock starting at `start` seconds; move it with [`Clock::advance`].
    pub fn manual(start: u64) -> Self {
        Clock::Manual(Arc::new(AtomicU64::new(start)))
    }

    pub fn now(&self) -> u64 {
        match self {
            Clock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs()),
            Clock::Manual(seconds) => seconds.load(Ordering::Relaxed),
        }
    }

    /// Move a manual clock forward; the system clock cannot be moved and ignores this.
    pub fn advance(&self, seconds: u64) {
        if let Clock::Manual(now) = self {
            now.fetch_add(seconds, Ordering::Relaxed);
        }
    }
}
