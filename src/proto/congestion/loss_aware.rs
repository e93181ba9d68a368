//! A loss-rate-aware window controller: Reno-style window growth and halving, but random
//! loss is told apart from congestion (docs/protocol.md §9.3 describes the window it
//! replaces; the wire is unchanged, only the sender's reaction to NAKs and timeouts).
//!
//! The window grows as in `sliding_window.rs` (a unit per acknowledged datagram in slow
//! start, about a unit per round trip after). Losses are judged once per *round* (a round
//! ends when a datagram sent after it began is acknowledged), and the window is halved
//! only when the round's losses look like congestion:
//!
//! - **delay**: the smallest RTT sample of this round and the previous one (at least
//!   `MIN_DELAY_SAMPLES`) is well above the connection's minimum RTT. A bottleneck drops
//!   from a full queue, and a full queue delays every datagram behind it, so congestion
//!   losses come with a standing queue. Jitter and reordering delay some datagrams, not
//!   the fastest of two rounds, so the minimum mostly ignores them; a path that delays
//!   everything at random still lifts it a little, so the usual lift is learned
//!   (`delay_noise`) and allowed for, up to `MAX_NOISE_ALLOWANCE`.
//! - **excess loss**: more losses than the background loss rate explains: mean + 3
//!   standard deviations of the round's binomial noise, with the rate's own uncertainty
//!   on top, plus `SLACK`. This catches a bottleneck with too little buffer to show a
//!   queue, and a slow-start overshoot (about half of a round lost).
//!
//! A round judges the datagram numbers between the newest number reported (ACKed or
//! NAKed) at its start and at its end; NAKs and timeouts in it are its losses. The
//! background rate is a running loss fraction over the last ~`LOSS_MEMORY` datagrams,
//! starting from a prior of `PRIOR_LOST` in `PRIOR_TOTAL`. A round judged congested
//! counts at the current rate, and a quiet round at most one standard deviation above it,
//! so a queue that keeps overflowing does not teach the controller that heavy loss is
//! normal.
//!
//! What this gives up: on a path whose random loss is high, a shallow-buffered
//! bottleneck is detected later (the excess must clear the background), so a flow there
//! keeps more losses per congestion episode than Reno would; hidden in jitter as well,
//! it is seen poorly (`tests/goodput.rs`, `HARD_CASE`: ~14 % queue drops). A deep buffer
//! is detected by delay at once. The simulated bottleneck tests cover both, with and
//! without random loss.
//!
//! Why this and not a BBR-style rate model: the sender has no pacing (it writes whenever
//! the window allows) and RakNet's ACKs carry no receive timestamps, so a delivery-rate
//! estimate is noisy; a window with a better loss signal keeps the existing, tested
//! machinery and stays Reno-fair towards other flows on a congested link.
//!
//! A retransmission timeout says little on its own (at 20 % loss many ACK datagrams are
//! lost too), so it counts as one loss of the round; only a timeout after the
//! acknowledgements have stopped for longer than `SILENCE_RTTS` minimum RTTs (a blackout
//! or a collapsed path) halves the window at once.

use std::time::Duration;

use crate::proto::config::UDP_HEADER_SIZE;
use crate::proto::time::Time;
use crate::proto::wire::seq;

use super::Controller;

/// Upper bound of the window (as in `sliding_window.rs`).
const MAX_CWND: usize = 1 << 30;
/// Datagrams the background loss rate remembers (an exponential window of about this many).
const LOSS_MEMORY: f64 = 1000.0;
/// Before anything is measured the background loss rate is taken as `PRIOR_LOST` in
/// `PRIOR_TOTAL` datagrams; the prior fades as real outcomes accumulate. Without it the
/// first few random losses of a lossy path look like excess over a zero rate and end slow
/// start at a tiny window.
const PRIOR_LOST: f64 = 2.0;
const PRIOR_TOTAL: f64 = 20.0;
/// Losses allowed beyond mean + 3 standard deviations: loss events come in small clumps
/// (a lost NAK or ACK datagram turns into timeouts), which a binomial model ignores.
const SLACK: f64 = 2.0;
/// The round's minimum RTT must exceed the connection's minimum by a quarter of it plus
/// this much to count as a standing queue (clock granularity, ACK batching).
const DELAY_SLACK: Duration = Duration::from_millis(2);
/// A standing queue must lift the two-round minimum RTT this many times the path's usual
/// excess above its minimum (`delay_noise`): on a path that delays datagrams at random
/// (0–30 ms of jitter) even the fastest of a round waits a little, and that is not a
/// queue of ours.
const DELAY_NOISE_FACTOR: f64 = 2.0;
const DELAY_NOISE_ROUNDS: f64 = 8.0;
/// The noise allowance is capped: a queue of our own also lifts the minimum, and the
/// allowance must not grow to swallow a real bottleneck's queue.
const MAX_NOISE_ALLOWANCE: Duration = Duration::from_millis(10);
/// Fewest RTT samples (this round and the previous one) that can show a standing queue:
/// with fewer, a couple of reordered datagrams would look like one.
const MIN_DELAY_SAMPLES: u32 = 8;
/// How long the connection's minimum RTT is remembered: a path whose delay grew for
/// good (a route change) is re-learned after this.
const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);
/// A timeout with no acknowledgement for this many minimum RTTs (at least `SILENCE_FLOOR`)
/// is a blackout, not a random loss.
const SILENCE_RTTS: u32 = 8;
const SILENCE_FLOOR: Duration = Duration::from_millis(100);

/// The minimum RTT over the last one to two `MIN_RTT_WINDOW`s.
#[derive(Clone, Debug, Default)]
struct MinRtt {
    current: Option<Duration>,
    previous: Option<Duration>,
    since: Option<Time>,
}

impl MinRtt {
    fn on_sample(&mut self, now: Time, rtt: Duration) {
        let since = *self.since.get_or_insert(now);
        if now - since >= MIN_RTT_WINDOW {
            self.previous = self.current.take();
            self.since = Some(now);
        }
        self.current = Some(self.current.map_or(rtt, |c| c.min(rtt)));
    }

    fn get(&self) -> Option<Duration> {
        match (self.current, self.previous) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The loss-rate-aware controller of one connection.
#[derive(Clone, Debug)]
pub(crate) struct LossAware {
    /// `M`: the largest UDP payload, `MTU - 28`.
    unit: usize,
    cwnd: usize,
    /// Slow-start threshold in bytes; 0 = unset.
    ssthresh: usize,
    next_datagram: u32,
    /// An acknowledgement of this number or later ends the round.
    round_end: u32,
    round_acked: u32,
    round_lost: u32,
    /// The newest datagram number reported (acknowledged or NAKed) so far, and at the
    /// start of the round: the round judges the numbers between the two.
    reported: Option<u32>,
    round_reported_from: Option<u32>,
    round_min_rtt: Option<Duration>,
    round_samples: u32,
    /// The previous round's, so that a queue must persist over two rounds' samples.
    prev_round_min_rtt: Option<Duration>,
    prev_round_samples: u32,
    /// How far above the path's minimum the two-round minimum RTT usually is (a moving
    /// average over ~`DELAY_NOISE_ROUNDS` rounds): the path's own delay noise.
    delay_noise: Duration,
    /// The window was already cut in this round (by a blackout timeout).
    cut_this_round: bool,
    min_rtt: MinRtt,
    /// Background loss: lost and judged datagrams, decayed to about `LOSS_MEMORY`.
    bg_lost: f64,
    bg_total: f64,
    last_ack: Option<Time>,
}

impl LossAware {
    /// A controller for a connection with this MTU.
    pub(crate) fn new(mtu: u16) -> LossAware {
        let unit = usize::from(mtu.saturating_sub(UDP_HEADER_SIZE)).max(1);
        LossAware {
            unit,
            cwnd: unit,
            ssthresh: 0,
            next_datagram: 0,
            round_end: 0,
            round_acked: 0,
            round_lost: 0,
            reported: None,
            round_reported_from: None,
            round_min_rtt: None,
            round_samples: 0,
            prev_round_min_rtt: None,
            prev_round_samples: 0,
            delay_noise: Duration::ZERO,
            cut_this_round: false,
            min_rtt: MinRtt::default(),
            bg_lost: 0.0,
            bg_total: 0.0,
            last_ack: None,
        }
    }

    /// The background loss rate.
    pub(crate) fn background_loss(&self) -> f64 {
        (self.bg_lost + PRIOR_LOST) / (self.bg_total + PRIOR_TOTAL)
    }

    /// Most losses among `n` judged datagrams that the background rate explains.
    fn loss_threshold(&self, n: u32) -> f64 {
        let n = f64::from(n);
        let p = self.background_loss();
        // The rate is itself an estimate from `bg_total + PRIOR_TOTAL` datagrams: allow
        // two of its standard errors on top (large early on, small once learned).
        let p_high = (p + 2.0 * (p * (1.0 - p) / (self.bg_total + PRIOR_TOTAL)).sqrt()).min(1.0);
        n * p_high + 3.0 * (n * p * (1.0 - p)).sqrt() + SLACK
    }

    /// The round's fastest datagram waited in a queue.
    fn delay_inflated(&self) -> bool {
        if self.round_samples + self.prev_round_samples < MIN_DELAY_SAMPLES {
            return false;
        }
        let Some(recent) = self
            .round_min_rtt
            .or(self.prev_round_min_rtt)
            .map(|a| self.prev_round_min_rtt.map_or(a, |b| a.min(b)))
        else {
            return false;
        };
        self.min_rtt.get().is_some_and(|base| {
            let noise = self
                .delay_noise
                .mul_f64(DELAY_NOISE_FACTOR)
                .min(MAX_NOISE_ALLOWANCE);
            recent > base + base / 4 + DELAY_SLACK + noise
        })
    }

    /// The two rounds' minimum RTT above the path's minimum, if known.
    fn recent_excess_delay(&self) -> Option<Duration> {
        let recent = match (self.round_min_rtt, self.prev_round_min_rtt) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        Some(recent.saturating_sub(self.min_rtt.get()?))
    }

    fn end_round(&mut self) {
        // The round judges every number up to the newest one reported: a number below it
        // that was not NAKed arrived (the receiver NAKs each gap once it sees a later
        // datagram). Counting only the ACKs seen would not do: the receiver reports ACKs
        // and NAKs in separate datagrams, and one lost ACK datagram would leave a round
        // of NAKs that look like a burst of loss.
        let span = match (self.round_reported_from, self.reported) {
            (Some(from), Some(to)) => seq::distance(from, to),
            (None, Some(_)) => self.round_acked + self.round_lost,
            _ => 0,
        };
        let n = span.max(self.round_acked + self.round_lost);
        let threshold = self.loss_threshold(n);
        let lost = f64::from(self.round_lost);
        let congested = self.round_lost > 0 && (self.delay_inflated() || lost > threshold);
        if n > 0 {
            // A congested round counts at the background rate: its excess is ours, and
            // counting it (even capped at the threshold) would ratchet the rate up under
            // lasting congestion until nothing looked like excess.
            // A quiet round counts at most one standard deviation (plus one loss) above
            // the rate: enough to learn a lossy path within a few hundred datagrams, too
            // little to follow a queue that overflows a bit less than the threshold.
            let p = self.background_loss();
            let nf = f64::from(n);
            let quiet_cap = nf * p + (nf * p * (1.0 - p)).sqrt() + 1.0;
            self.bg_lost += if congested {
                nf * p
            } else {
                lost.min(quiet_cap)
            };
            self.bg_total += f64::from(n);
            if self.bg_total > LOSS_MEMORY {
                let k = LOSS_MEMORY / self.bg_total;
                self.bg_lost *= k;
                self.bg_total = LOSS_MEMORY;
            }
        }
        if self.round_samples + self.prev_round_samples >= MIN_DELAY_SAMPLES {
            if let Some(d) = self.recent_excess_delay() {
                let gain = 1.0 / DELAY_NOISE_ROUNDS;
                self.delay_noise = self.delay_noise.mul_f64(1.0 - gain) + d.mul_f64(gain);
            }
        }
        if congested {
            self.cut();
        }
        self.round_end = self.next_datagram;
        self.round_acked = 0;
        self.round_lost = 0;
        self.round_reported_from = self.reported;
        self.prev_round_min_rtt = self.round_min_rtt.take();
        self.prev_round_samples = std::mem::take(&mut self.round_samples);
        self.cut_this_round = false;
    }

    /// Halves the window, at most once per round.
    fn report(&mut self, number: u32) {
        if self.reported.map_or(true, |r| seq::older(r, number)) {
            self.reported = Some(number);
        }
    }

    fn cut(&mut self) {
        if self.cut_this_round {
            return;
        }
        self.ssthresh = (self.cwnd / 2).max(self.unit);
        self.cwnd = self.ssthresh;
        self.cut_this_round = true;
    }
}

impl Controller for LossAware {
    fn on_sent(&mut self, _now: Time, number: u32, _bytes: usize) {
        self.next_datagram = seq::add(number, 1);
    }

    fn on_rtt_sample(&mut self, now: Time, rtt: Duration) {
        self.min_rtt.on_sample(now, rtt);
        self.round_min_rtt = Some(self.round_min_rtt.map_or(rtt, |r| r.min(rtt)));
        self.round_samples = self.round_samples.saturating_add(1);
    }

    fn on_ack(&mut self, now: Time, number: u32, continuous: bool) {
        self.last_ack = Some(now);
        self.round_acked = self.round_acked.saturating_add(1);
        self.report(number);
        if !seq::older(number, self.round_end) {
            self.end_round();
        }
        if !continuous {
            return;
        }
        if self.in_slow_start() {
            self.cwnd += self.unit;
            if self.ssthresh != 0 && self.cwnd > self.ssthresh {
                self.cwnd = self.ssthresh + self.unit * self.unit / self.cwnd;
            }
        } else {
            self.cwnd += (self.unit * self.unit / self.cwnd).max(1);
        }
        self.cwnd = self.cwnd.min(MAX_CWND);
    }

    fn on_nak(&mut self, _now: Time, _number: u32) {
        self.report(_number);
        self.round_lost = self.round_lost.saturating_add(1);
    }

    fn on_timeout(&mut self, now: Time) {
        self.round_lost = self.round_lost.saturating_add(1);
        let silence = self
            .min_rtt
            .get()
            .map_or(SILENCE_FLOOR, |r| (r * SILENCE_RTTS).max(SILENCE_FLOOR));
        // Before the first acknowledgement nothing is known about the path.
        if self.last_ack.is_some_and(|t| now - t > silence) {
            self.cut();
        }
    }

    fn window(&self) -> usize {
        self.cwnd
    }

    fn in_slow_start(&self) -> bool {
        self.ssthresh == 0 || self.cwnd <= self.ssthresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: usize = 1464;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// Sends `n` datagrams from `*next` at `now`, then reports each as lost if `lost(i)`,
    /// else acknowledged with an RTT of `rtt`, at `now + rtt`.
    fn round(
        cc: &mut LossAware,
        next: &mut u32,
        now: &mut Time,
        n: u32,
        rtt: Duration,
        lost: impl Fn(u32) -> bool,
    ) {
        let first = *next;
        for _ in 0..n {
            cc.on_sent(*now, *next, M);
            *next = seq::add(*next, 1);
        }
        *now += rtt;
        for i in 0..n {
            let number = seq::add(first, i);
            if lost(i) {
                cc.on_nak(*now, number);
            } else {
                cc.on_rtt_sample(*now, rtt);
                cc.on_ack(*now, number, true);
            }
        }
    }

    #[test]
    fn starts_like_raknet_in_slow_start() {
        let cc = LossAware::new(1492);
        assert_eq!(cc.window(), M);
        assert!(cc.in_slow_start());
    }

    #[test]
    fn steady_random_loss_does_not_cut_the_window() {
        let mut cc = LossAware::new(1492);
        let (mut next, mut now) = (0, Time::from_millis(1));
        // One datagram in five lost, every round, while the window grows.
        for _ in 0..12 {
            let n = u32::try_from(cc.window() / M).unwrap().min(400);
            round(&mut cc, &mut next, &mut now, n, ms(20), |i| i % 5 == 2);
            assert!(cc.in_slow_start(), "cut at {} units", cc.window() / M);
        }
        assert!(cc.window() > 100 * M, "{}", cc.window() / M);
        let p = cc.background_loss();
        assert!((0.15..0.25).contains(&p), "background {p}");
    }

    #[test]
    fn loss_well_above_the_background_cuts_once_per_round() {
        let mut cc = LossAware::new(1492);
        let (mut next, mut now) = (0, Time::from_millis(1));
        for _ in 0..8 {
            let n = u32::try_from(cc.window() / M).unwrap();
            round(&mut cc, &mut next, &mut now, n, ms(20), |i| i % 100 == 50);
        }
        let w = cc.window();
        assert!(cc.in_slow_start());
        // Half of a round lost (a slow-start overshoot), at the same RTT: one cut.
        round(&mut cc, &mut next, &mut now, 100, ms(20), |i| i % 2 == 0);
        // The round ends with the next acknowledgement of a later datagram.
        round(&mut cc, &mut next, &mut now, 1, ms(20), |_| false);
        assert!(!cc.in_slow_start());
        assert!(
            cc.window() < w / 2 + 200 * M,
            "{} → {}",
            w / M,
            cc.window() / M
        );
        assert!(
            cc.window() >= w / 2,
            "cut more than once: {} → {}",
            w / M,
            cc.window() / M
        );
    }

    #[test]
    fn a_loss_with_a_standing_queue_cuts() {
        let mut cc = LossAware::new(1492);
        let (mut next, mut now) = (0, Time::from_millis(1));
        for _ in 0..5 {
            let n = u32::try_from(cc.window() / M).unwrap();
            round(&mut cc, &mut next, &mut now, n, ms(20), |_| false);
        }
        // The same single loss per round that a clean path shrugs off…
        round(&mut cc, &mut next, &mut now, 20, ms(20), |i| i == 3);
        round(&mut cc, &mut next, &mut now, 20, ms(20), |_| false);
        assert!(cc.in_slow_start());
        // …cuts once every datagram of two rounds waited 30 ms in a queue.
        round(&mut cc, &mut next, &mut now, 20, ms(50), |_| false);
        let w = cc.window();
        round(&mut cc, &mut next, &mut now, 20, ms(50), |i| i == 3);
        round(&mut cc, &mut next, &mut now, 1, ms(50), |_| false);
        assert!(!cc.in_slow_start());
        assert!(cc.window() < w, "{} → {}", w / M, cc.window() / M);
    }

    #[test]
    fn a_few_reordered_samples_are_not_a_queue() {
        let mut cc = LossAware::new(1492);
        let (mut next, mut now) = (0, Time::from_millis(1));
        round(&mut cc, &mut next, &mut now, 1, ms(20), |_| false);
        // Three slow samples and a loss: too few samples to show a queue.
        round(&mut cc, &mut next, &mut now, 4, ms(45), |i| i == 0);
        round(&mut cc, &mut next, &mut now, 1, ms(45), |_| false);
        assert!(cc.in_slow_start());
    }

    #[test]
    fn learned_jitter_is_not_a_queue_but_a_larger_delay_is() {
        let mut cc = LossAware::new(1492);
        let (mut next, mut now) = (0, Time::from_millis(1));
        // One fast datagram sets the path's minimum; then every round's fastest takes
        // 10 ms more (a path that delays everything at random).
        round(&mut cc, &mut next, &mut now, 1, ms(20), |_| false);
        for _ in 0..30 {
            round(&mut cc, &mut next, &mut now, 20, ms(30), |_| false);
        }
        round(&mut cc, &mut next, &mut now, 20, ms(30), |i| i == 3);
        round(&mut cc, &mut next, &mut now, 20, ms(30), |_| false);
        assert!(cc.in_slow_start(), "jitter taken for a queue");
        // 30 ms above the minimum is more than the capped allowance: a queue.
        round(&mut cc, &mut next, &mut now, 20, ms(50), |_| false);
        round(&mut cc, &mut next, &mut now, 20, ms(50), |i| i == 3);
        round(&mut cc, &mut next, &mut now, 1, ms(50), |_| false);
        assert!(!cc.in_slow_start(), "a standing queue not seen");
    }

    #[test]
    fn timeouts_cut_only_after_acknowledgements_stop() {
        let mut cc = LossAware::new(1492);
        cc.on_timeout(Time::from_millis(5_000));
        assert!(cc.in_slow_start(), "nothing known before the first ACK");
        let (mut next, mut now) = (0, Time::from_millis(1));
        for _ in 0..4 {
            let n = u32::try_from(cc.window() / M).unwrap();
            round(&mut cc, &mut next, &mut now, n, ms(20), |_| false);
        }
        let w = cc.window();
        cc.on_timeout(now + ms(30));
        assert_eq!(
            cc.window(),
            w,
            "a timeout amid acknowledgements is one loss"
        );
        cc.on_timeout(now + ms(200));
        assert_eq!(cc.window(), w / 2, "silence for 10 RTTs");
    }

    #[test]
    fn min_rtt_is_forgotten_after_two_windows() {
        let mut m = MinRtt::default();
        let t = Time::from_millis(1);
        m.on_sample(t, ms(10));
        m.on_sample(t + ms(5_000), ms(30));
        assert_eq!(m.get(), Some(ms(10)));
        m.on_sample(t + ms(10_000), ms(30));
        assert_eq!(m.get(), Some(ms(10)), "still in the previous window");
        m.on_sample(t + ms(20_000), ms(30));
        assert_eq!(m.get(), Some(ms(30)));
    }
}
