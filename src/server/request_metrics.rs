//! `passerelle_requests_total`, counted without a registry look-up per request.
//!
//! `metrics::counter!` with labels builds a label vector and looks the key up in the recorder's
//! registry on every call. The gateway instead keeps one handle per (area, status) pair, registered on
//! first use and then only incremented. A handle binds to the recorder installed when it is
//! registered, so install the recorder (`telemetry::metrics()`) before serving, as `main` does.

use std::sync::OnceLock;

use metrics::Counter;

use crate::space::SpaceId;

/// Every status label `gateway::status_label` can produce.
pub(super) const STATUSES: [&str; 23] = [
    "101", "200", "204", "206", "301", "302", "303", "304", "400", "401", "403", "404", "413",
    "429", "500", "502", "503", "504", "1xx", "2xx", "3xx", "4xx", "5xx",
];
/// The nine spaces, then `auth`, then `autre`.
const AREAS: usize = SpaceId::ALL.len() + 2;

pub(crate) struct RequestCounters {
    cells: Box<[OnceLock<Counter>]>,
}

impl std::fmt::Debug for RequestCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestCounters").finish_non_exhaustive()
    }
}

impl RequestCounters {
    pub(crate) fn new() -> Self {
        RequestCounters {
            cells: (0..AREAS * STATUSES.len())
                .map(|_| OnceLock::new())
                .collect(),
        }
    }

    /// Count one answered request.
    pub(crate) fn increment(&self, area: &'static str, status: &'static str) {
        let cell = area_index(area)
            .zip(STATUSES.iter().position(|known| *known == status))
            .and_then(|(area, status)| self.cells.get(area * STATUSES.len() + status));
        match cell {
            Some(cell) => cell.get_or_init(|| counter(area, status)).increment(1),
            // A label outside the tables: count it the plain way rather than not at all.
            None => counter(area, status).increment(1),
        }
    }
}

fn counter(area: &'static str, status: &'static str) -> Counter {
    metrics::counter!("passerelle_requests_total", "space" => area, "status" => status)
}

fn area_index(area: &str) -> Option<usize> {
    match area {
        "auth" => Some(SpaceId::ALL.len()),
        "autre" => Some(SpaceId::ALL.len() + 1),
        _ => SpaceId::ALL.iter().position(|space| space.as_str() == area),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_and_status_label_has_its_own_cell() {
        let mut areas: Vec<&str> = SpaceId::ALL.iter().map(|space| space.as_str()).collect();
        areas.extend(["auth", "autre"]);
        let mut seen = std::collections::HashSet::new();
        for area in &areas {
            for status in STATUSES {
                let index = area_index(area).unwrap() * STATUSES.len()
                    + STATUSES.iter().position(|s| *s == status).unwrap();
                assert!(index < AREAS * STATUSES.len());
                assert!(seen.insert(index), "{area} {status}");
            }
        }
    }
}
