//! The metrics registry of one server: a Prometheus recorder of its own
//! (never the process-wide global one), so two servers in one process, as in
//! the tests, count apart; and its text rendering for `GET /metrics`.
//!
//! Gauges that the periodic refresh sets expire when they have not been set
//! for `gauge_ttl`: that is how a trip that is no longer among the hottest
//! leaves the scrape, and how a gauge whose refresh keeps failing disappears
//! instead of showing a stale figure.

use metrics::{Counter, Gauge, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use metrics_util::MetricKindMask;
use std::sync::Arc;
use std::time::Duration;

use super::hot_trips::HotTrips;
use super::names::{self, Kind};

const METADATA: Metadata<'static> = Metadata::new("ticketctl", Level::INFO, Some("ticketctl"));

/// One server's metrics: cheap to clone, shared by every request and worker.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Hold attempts per trip, for choosing the trips whose seats are shown.
    pub(super) hot_trips: HotTrips,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(Duration::from_secs(60))
    }
}

impl Metrics {
    /// A registry whose refreshed gauges expire after `gauge_ttl` unset.
    pub fn new(gauge_ttl: Duration) -> Metrics {
        let mut builder =
            PrometheusBuilder::new().idle_timeout(MetricKindMask::GAUGE, Some(gauge_ttl));
        for def in names::ALL {
            if let Kind::Histogram(buckets) = def.kind {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(def.name.into()), buckets)
                    .expect("bucket lists in names.rs are not empty");
            }
        }
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        for def in names::ALL {
            let (name, help) = (def.name.into(), def.help.into());
            match def.kind {
                Kind::Counter => recorder.describe_counter(name, None, help),
                Kind::Gauge => recorder.describe_gauge(name, None, help),
                Kind::Histogram(_) => recorder.describe_histogram(name, None, help),
            }
        }
        let metrics = Metrics {
            inner: Arc::new(Inner {
                recorder,
                handle,
                hot_trips: HotTrips::default(),
            }),
        };
        metrics.register_zeros();
        metrics
    }

    /// Series that must be in the scrape before their first event, so rates
    /// and alerts see a 0 rather than nothing.
    fn register_zeros(&self) {
        let zero = |name, labels: &[(&'static str, &str)]| self.counter(name, labels).increment(0);
        zero(names::HOLDS_CREATED, &[]);
        for reason in super::record::HOLD_REFUSALS {
            zero(names::HOLDS_REFUSED, &[("reason", reason)]);
        }
        for outcome in super::record::ORDER_OUTCOMES {
            zero(names::ORDERS, &[("outcome", outcome)]);
        }
        zero(names::TICKETS_ISSUED, &[]);
        for scope in ["address", "account"] {
            zero(names::HTTP_RATE_LIMITED, &[("scope", scope)]);
        }
        for reason in ["in_flight", "read_timeout"] {
            zero(names::HTTP_SHED, &[("reason", reason)]);
        }
        for encoding in super::record::SMS_ENCODINGS {
            zero(names::SMS_SENT, &[("encoding", encoding)]);
            zero(names::SMS_SEGMENTS, &[("encoding", encoding)]);
        }
        zero(names::SMS_RETRIES, &[]);
        for reason in super::record::SMS_FAILURES {
            zero(names::SMS_FAILED, &[("reason", reason)]);
        }
        for consumer in super::record::CONSUMERS {
            // Registering is enough: an empty histogram renders with zero buckets.
            let _ = self.histogram(names::OUTBOX_DELAY, &[("consumer", consumer)]);
        }
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }

    /// Drains histogram samples and expires idle gauges; run periodically so
    /// samples do not pile up between scrapes.
    pub fn upkeep(&self) {
        self.inner.handle.run_upkeep();
    }

    pub(super) fn hot_trips(&self) -> &HotTrips {
        &self.inner.hot_trips
    }

    fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, (*v).to_owned()))
            .collect();
        Key::from_parts(name, labels)
    }

    pub(super) fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        self.inner
            .recorder
            .register_counter(&Self::key(name, labels), &METADATA)
    }

    pub(super) fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        self.inner
            .recorder
            .register_gauge(&Self::key(name, labels), &METADATA)
    }

    pub(super) fn histogram(
        &self,
        name: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Histogram {
        self.inner
            .recorder
            .register_histogram(&Self::key(name, labels), &METADATA)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_registries_count_apart() {
        let (a, b) = (Metrics::default(), Metrics::default());
        a.counter(names::TICKETS_ISSUED, &[]).increment(3);
        assert!(a.render().contains("ticketctl_tickets_issued_total 3"));
        assert!(b.render().contains("ticketctl_tickets_issued_total 0"));
    }

    #[test]
    fn histograms_have_their_buckets_and_help() {
        let m = Metrics::default();
        m.histogram(names::HTTP_DURATION, &[("route", "/v1/trips")])
            .record(0.003);
        let text = m.render();
        assert!(text.contains("# HELP ticketctl_http_request_duration_seconds"));
        assert!(
            text.contains(
                r#"ticketctl_http_request_duration_seconds_bucket{route="/v1/trips",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"ticketctl_http_request_duration_seconds_bucket{route="/v1/trips",le="0.0025"} 0"#
        ));
    }

    #[test]
    fn series_registered_at_start_show_zero() {
        let text = Metrics::default().render();
        for line in [
            r#"ticketctl_holds_refused_total{reason="sold_out"} 0"#,
            r#"ticketctl_http_shed_total{reason="in_flight"} 0"#,
            "ticketctl_holds_created_total 0",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
