//! The suspension policy, derived once from `[guard]`: thresholds, escalation for repeat offenders, and
//! how an address becomes a counting key.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use crate::config::GuardSettings;

/// Numbers the stores need to apply the policy atomically (all durations in whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub max_failures: u32,
    pub pair_max_failures: u32,
    pub window_secs: u64,
    pub suspension_secs: u64,
    pub escalation_factor: u32,
    pub max_suspension_secs: u64,
    pub offence_memory_secs: u64,
}

impl Thresholds {
    pub fn from_settings(settings: &GuardSettings) -> Self {
        let secs = |d: Duration| d.as_secs().max(1);
        Thresholds {
            max_failures: settings.max_failures.max(1),
            pair_max_failures: settings.pair_max_failures.max(1),
            window_secs: secs(settings.window),
            suspension_secs: secs(settings.suspension),
            escalation_factor: settings.escalation_factor.max(1),
            max_suspension_secs: secs(settings.max_suspension).max(secs(settings.suspension)),
            offence_memory_secs: secs(settings.offence_memory),
        }
    }

    /// How long the `offence`-th suspension (1 = first) lasts: the base, multiplied by the factor for
    /// each earlier offence, never beyond the cap.
    pub fn suspension_for(&self, offence: u32) -> u64 {
        let mut duration = self.suspension_secs;
        for _ in 1..offence {
            duration = duration.saturating_mul(u64::from(self.escalation_factor));
            if duration >= self.max_suspension_secs {
                return self.max_suspension_secs;
            }
        }
        duration.min(self.max_suspension_secs)
    }
}

/// The address failures are counted against: an IPv4 address as is, an IPv6 address masked to its
/// network (default /64), since one subscriber holds a whole /64 and could otherwise mint keys at will.
pub fn client_key(ip: IpAddr, ipv6_prefix_len: u8) -> IpAddr {
    match crate::server::client_ip::canonical(ip) {
        IpAddr::V6(v6) => {
            let len = u32::from(ipv6_prefix_len.min(128));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
        v4 => v4,
    }
}

/// Logins are compared without case or surrounding blanks, as the directory compares them.
pub fn normalise_login(login: &str) -> String {
    login.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escalation_doubles_then_caps() {
        let t = Thresholds {
            max_failures: 5,
            pair_max_failures: 3,
            window_secs: 900,
            suspension_secs: 900,
            escalation_factor: 2,
            max_suspension_secs: 3000,
            offence_memory_secs: 86400,
        };
        assert_eq!(t.suspension_for(1), 900);
        assert_eq!(t.suspension_for(2), 1800);
        assert_eq!(t.suspension_for(3), 3000);
        assert_eq!(t.suspension_for(40), 3000);
    }

    #[test]
    fn ipv6_is_masked_and_ipv4_kept() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().unwrap(), 64);
        let b = client_key("2001:db8:1:2:bbbb::9".parse().unwrap(), 64);
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let c = client_key("2001:db8:1:3::1".parse().unwrap(), 64);
        assert_ne!(a, c);
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(client_key(v4, 64), v4);
        let full: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(client_key(full, 128), full);
    }
}
