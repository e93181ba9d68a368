//! Round-trip time estimation and the retransmission timeout (docs/protocol.md §9.2).
//!
//! Samples come from acknowledged datagrams that carried reliable or receipt frames
//! (resends use new datagram numbers, so every sample is unambiguous). SRTT and RTTVAR
//! follow 4.081's gain of 0.05; the timeout itself deliberately differs from 4.081's
//! `2 * SRTT + 4 * RTTVAR + 30 ms`: we use `SRTT + 4 * RTTVAR + RTO_MARGIN`, clamped to the
//! configured bounds, so loss on a fast link is repaired quickly. Exponential backoff on
//! repeated timeouts is applied per frame by the caller through [`RttEstimator::backed_off`].
//! This file knows nothing about frames, windows or the wire.

use std::time::Duration;

/// Weight of a new sample, as a divisor: 4.081 uses a gain of 0.05 = 1/20.
const GAIN_DIVISOR: f64 = 20.0;
/// Added to every timeout to absorb acknowledgement batching at the receiver.
const RTO_MARGIN: Duration = Duration::from_millis(4);
/// Timeout before the first sample is at most this long (then `max_rto` applies).
const INITIAL_RTO_CAP: Duration = Duration::from_secs(1);
/// Samples above this are clamped: nothing useful is measured past it, and it keeps the
/// arithmetic far from overflow.
const MAX_SAMPLE: Duration = Duration::from_secs(60);
/// Largest backoff exponent honoured (the result is capped at `max_rto` anyway).
const MAX_BACKOFF_SHIFT: u32 = 16;

/// Smoothed RTT, RTT variation and the timeout derived from them.
#[derive(Clone, Debug)]
pub(crate) struct RttEstimator {
    /// Smoothed RTT in microseconds, once a sample exists.
    srtt_us: Option<f64>,
    /// RTT variation in microseconds.
    rttvar_us: f64,
    /// Most recent sample.
    latest: Duration,
    min_rto: Duration,
    max_rto: Duration,
}

impl RttEstimator {
    /// An estimator without samples; timeouts are clamped to `[min_rto, max_rto]`.
    pub(crate) fn new(min_rto: Duration, max_rto: Duration) -> RttEstimator {
        RttEstimator {
            srtt_us: None,
            rttvar_us: 0.0,
            latest: Duration::ZERO,
            min_rto,
            // A misconfigured pair must not make the clamp below panic.
            max_rto: max_rto.max(min_rto),
        }
    }

    /// Feeds one round-trip sample.
    pub(crate) fn on_sample(&mut self, rtt: Duration) {
        let rtt = rtt.min(MAX_SAMPLE);
        self.latest = rtt;
        let r = rtt.as_secs_f64() * 1e6;
        match self.srtt_us {
            None => {
                self.srtt_us = Some(r);
                self.rttvar_us = r;
            }
            Some(srtt) => {
                let d = r - srtt;
                self.srtt_us = Some(srtt + d / GAIN_DIVISOR);
                self.rttvar_us += (d.abs() - self.rttvar_us) / GAIN_DIVISOR;
            }
        }
    }

    /// Smoothed RTT, once a sample exists.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt_us.map(micros)
    }

    /// RTT variation (zero before the first sample).
    #[allow(dead_code)] // for connection statistics
    pub(crate) fn rttvar(&self) -> Duration {
        micros(self.rttvar_us)
    }

    /// The most recent sample (zero before the first).
    #[allow(dead_code)] // for connection statistics
    pub(crate) fn latest(&self) -> Duration {
        self.latest
    }

    /// The retransmission timeout for a first transmission.
    pub(crate) fn rto(&self) -> Duration {
        match self.srtt_us {
            None => self.max_rto.min(INITIAL_RTO_CAP).max(self.min_rto),
            Some(srtt) => {
                let raw = micros(srtt + 4.0 * self.rttvar_us) + RTO_MARGIN;
                raw.max(self.min_rto).min(self.max_rto)
            }
        }
    }

    /// The timeout after `backoff` consecutive timeouts of one frame: `rto * 2^backoff`,
    /// capped at `max_rto`.
    pub(crate) fn backed_off(&self, backoff: u32) -> Duration {
        let rto = self.rto();
        let factor = 1u32 << backoff.min(MAX_BACKOFF_SHIFT);
        rto.saturating_mul(factor).min(self.max_rto.max(rto))
    }
}

/// A non-negative, finite microsecond count as a `Duration`.
fn micros(us: f64) -> Duration {
    if us.is_finite() && us > 0.0 {
        Duration::from_secs_f64(us / 1e6)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn initial_rto_is_max_rto_capped_at_one_second() {
        assert_eq!(RttEstimator::new(ms(10), ms(2000)).rto(), ms(1000));
        assert_eq!(RttEstimator::new(ms(10), ms(500)).rto(), ms(500));
        assert_eq!(RttEstimator::new(ms(10), ms(2000)).srtt(), None);
    }

    #[test]
    fn first_sample_sets_srtt_and_rttvar() {
        let mut e = RttEstimator::new(ms(1), ms(2000));
        e.on_sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), ms(100));
        // 100 + 400 + margin
        assert_eq!(e.rto(), ms(504));
    }

    #[test]
    fn converges_with_gain_one_twentieth() {
        let mut e = RttEstimator::new(ms(1), ms(2000));
        e.on_sample(ms(100));
        e.on_sample(ms(120));
        let srtt = e.srtt().unwrap().as_secs_f64() * 1e3;
        assert!((srtt - 101.0).abs() < 1e-6, "{srtt}");
        for _ in 0..500 {
            e.on_sample(ms(20));
        }
        let srtt = e.srtt().unwrap().as_secs_f64() * 1e3;
        assert!((srtt - 20.0).abs() < 0.1, "{srtt}");
        assert!(e.rttvar() < ms(1));
        assert_eq!(e.latest(), ms(20));
    }

    #[test]
    fn rto_is_clamped() {
        let mut e = RttEstimator::new(ms(10), ms(2000));
        for _ in 0..1000 {
            e.on_sample(Duration::from_micros(50));
        }
        assert_eq!(e.rto(), ms(10));
        let mut e = RttEstimator::new(ms(10), ms(2000));
        e.on_sample(Duration::from_secs(1000));
        assert_eq!(e.rto(), ms(2000));
        // Misconfigured bounds do not panic.
        let e = RttEstimator::new(ms(50), ms(5));
        assert_eq!(e.rto(), ms(50));
    }

    #[test]
    fn backoff_doubles_up_to_max_rto() {
        let mut e = RttEstimator::new(ms(10), ms(2000));
        for _ in 0..1000 {
            e.on_sample(Duration::from_micros(50));
        }
        assert_eq!(e.backed_off(0), ms(10));
        assert_eq!(e.backed_off(1), ms(20));
        assert_eq!(e.backed_off(3), ms(80));
        assert_eq!(e.backed_off(10), ms(2000));
        assert_eq!(e.backed_off(u32::MAX), ms(2000));
    }
}
