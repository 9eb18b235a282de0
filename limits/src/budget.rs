//! The connection caps, derived from the open-files limit.
//!
//! Of the limit, a reserve is kept for what is not a client connection: the process itself
//! (standard streams, the runtime's epoll and wakers, the listeners, rumqttd's listener and the
//! server's own MQTT clients, log files, name lookups), the database (its files or its pool),
//! the notifiers, and a headroom of a twentieth (connections accepted while the gate closes
//! another, and anything a request opens). What remains is split: a third for HTTP, where one
//! connection costs one descriptor, and two thirds for vehicles, each of which costs
//! [`DESCRIPTORS_PER_VEHICLE`] through the embedded broker. With an external broker, vehicles
//! cost this process nothing and HTTP gets it all. Each cap is bounded above by the listener's
//! own maximum, and what one side cannot use goes to the other.

/// What the process needs descriptors for besides client connections.
#[derive(Clone, Debug)]
pub struct Needs {
    /// The most descriptors the store holds (its files, or its pool's connections).
    pub database_descriptors: usize,
    /// Configured notifiers (each may hold a connection or two while it delivers).
    pub notifiers: usize,
    /// Vehicles connect through this process (the embedded broker), not to an external broker.
    pub embedded_broker: bool,
    /// The HTTP listener's own maximum.
    pub http_max: usize,
    /// The embedded broker's own maximum of vehicle connections.
    pub mqtt_max: usize,
}

/// The caps derived from one open-files limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caps {
    /// The soft open-files limit they were derived from.
    pub open_files: u64,
    /// Descriptors kept for everything but client connections.
    pub reserve: usize,
    /// The most HTTP(S) connections at once.
    pub http: usize,
    /// The most vehicle connections through the embedded broker at once (None: external broker).
    pub mqtt: Option<usize>,
    /// The limit is too low for the reserve and the smallest caps: connections may fail.
    pub starved: bool,
}

/// Descriptors for the process itself, whatever its load.
pub const BASE_RESERVE: usize = 64;
/// Descriptors a notifier may hold while it delivers (an HTTP or SMTP connection, its lookup).
pub const PER_NOTIFIER: usize = 4;
/// A vehicle through the embedded broker: the door's accepted socket, its socket to rumqttd on
/// loopback, and rumqttd's end of that.
pub const DESCRIPTORS_PER_VEHICLE: usize = 3;
/// The fewest connections a listener is given, however low the limit.
pub const MIN_CAP: usize = 8;

/// The caps for a soft open-files limit of `open_files`.
pub fn derive(open_files: u64, needs: &Needs) -> Caps {
    let limit = usize::try_from(open_files).unwrap_or(usize::MAX);
    let headroom = (limit / 20).max(32);
    let reserve = BASE_RESERVE + needs.database_descriptors + needs.notifiers * PER_NOTIFIER + headroom;
    let available = limit.saturating_sub(reserve);
    let (http, mqtt) = if needs.embedded_broker {
        let http_first = (available / 3).min(needs.http_max);
        let mqtt = ((available - http_first) / DESCRIPTORS_PER_VEHICLE).min(needs.mqtt_max);
        let http = (available - mqtt * DESCRIPTORS_PER_VEHICLE).min(needs.http_max);
        (http.max(MIN_CAP), Some(mqtt.max(MIN_CAP)))
    } else {
        (available.min(needs.http_max).max(MIN_CAP), None)
    };
    let used = reserve + http + mqtt.unwrap_or(0) * DESCRIPTORS_PER_VEHICLE;
    Caps { open_files, reserve, http, mqtt, starved: used > limit }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_embedded() -> Needs {
        Needs {
            database_descriptors: 4,
            notifiers: 0,
            embedded_broker: true,
            http_max: 10_000,
            mqtt_max: 20_000,
        }
    }

    fn descriptors_at_cap(caps: &Caps) -> usize {
        caps.reserve + caps.http + caps.mqtt.unwrap_or(0) * DESCRIPTORS_PER_VEHICLE
    }

    #[test]
    fn the_common_limit_of_1024_leaves_a_reserve_and_splits_the_rest() {
        let caps = derive(1024, &sqlite_embedded());
        assert_eq!(caps, Caps { open_files: 1024, reserve: 119, http: 302, mqtt: Some(201), starved: false });
        assert!(descriptors_at_cap(&caps) <= 1024);
    }

    #[test]
    fn every_limit_fits_its_caps_and_reserve() {
        for limit in [256, 512, 1024, 4096, 20_000, 65_536, 524_288, 1 << 20] {
            for needs in [
                sqlite_embedded(),
                Needs { database_descriptors: 64, notifiers: 5, ..sqlite_embedded() },
                Needs { embedded_broker: false, ..sqlite_embedded() },
            ] {
                let caps = derive(limit, &needs);
                assert!(!caps.starved, "{limit}: {caps:?}");
                assert!(descriptors_at_cap(&caps) <= limit as usize, "{limit}: {caps:?}");
                assert!(caps.reserve >= BASE_RESERVE + needs.database_descriptors, "{caps:?}");
            }
        }
    }

    #[test]
    fn a_large_limit_is_bounded_by_the_listeners_own_maximum() {
        let caps = derive(1 << 20, &sqlite_embedded());
        assert_eq!((caps.http, caps.mqtt), (10_000, Some(20_000)));
    }

    #[test]
    fn what_http_cannot_use_goes_to_the_vehicles() {
        let needs = Needs { http_max: 100, ..sqlite_embedded() };
        let caps = derive(20_000, &needs);
        assert_eq!(caps.http, 100);
        assert_eq!(caps.mqtt, Some((20_000 - caps.reserve - 100) / DESCRIPTORS_PER_VEHICLE));
    }

    #[test]
    fn with_an_external_broker_http_gets_everything_left() {
        let caps = derive(1024, &Needs { embedded_broker: false, ..sqlite_embedded() });
        assert_eq!((caps.http, caps.mqtt), (1024 - caps.reserve, None));
    }

    #[test]
    fn a_bigger_database_pool_and_notifiers_leave_fewer_connections() {
        let small = derive(4096, &sqlite_embedded());
        let big = derive(4096, &Needs { database_descriptors: 100, notifiers: 3, ..sqlite_embedded() });
        assert_eq!(big.reserve, small.reserve + 96 + 3 * PER_NOTIFIER);
        assert!(big.http < small.http && big.mqtt < small.mqtt);
    }

    #[test]
    fn a_limit_too_low_still_gives_the_smallest_caps_and_says_so() {
        let caps = derive(64, &sqlite_embedded());
        assert_eq!((caps.http, caps.mqtt), (MIN_CAP, Some(MIN_CAP)));
        assert!(caps.starved);
    }
}
