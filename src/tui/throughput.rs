//! Download rate and time left per Dropbox link, from the bytes the engine reports. A sliding
//! window keeps the rate current without jumping on every progress event.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::library::store::links::LinkId;

/// How far back the rate looks.
pub const RATE_WINDOW: Duration = Duration::from_secs(5);
/// A rate over less time than this is too noisy to show.
const MIN_SPAN: Duration = Duration::from_millis(500);

#[derive(Clone, Debug, Default)]
pub struct Throughput {
    /// (when, bytes received then), per link, oldest first.
    samples: HashMap<LinkId, VecDeque<(Instant, u64)>>,
}

impl Throughput {
    /// `bytes` more arrived for `link` by `at` (0 marks when a download began).
    pub fn record(&mut self, link: LinkId, at: Instant, bytes: u64) {
        let samples = self.samples.entry(link).or_default();
        samples.push_back((at, bytes));
        while samples
            .front()
            .is_some_and(|(t, _)| at.saturating_duration_since(*t) > RATE_WINDOW)
        {
            samples.pop_front();
        }
    }

    /// Bytes a second for `link` over the last [`RATE_WINDOW`], if it has been moving. The
    /// oldest sample in the window only marks the start: its bytes arrived before it.
    pub fn rate(&self, link: LinkId, now: Instant) -> Option<f64> {
        let samples = self.samples.get(&link)?;
        let mut recent = samples
            .iter()
            .filter(|(t, _)| now.saturating_duration_since(*t) <= RATE_WINDOW);
        let (start, _) = recent.next()?;
        let span = now.saturating_duration_since(*start);
        if span < MIN_SPAN {
            return None;
        }
        let bytes: u64 = recent.map(|(_, b)| b).sum();
        (bytes > 0).then(|| bytes as f64 / span.as_secs_f64())
    }
}

/// "1:05" or "2:03:10" for a number of seconds.
pub fn duration_label(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Seconds to move `remaining` bytes at `rate` bytes a second, rounded up.
pub fn eta_seconds(remaining: u64, rate: f64) -> Option<u64> {
    (rate > 0.0).then(|| (remaining as f64 / rate).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_bytes_over_the_recent_window() {
        let mut t = Throughput::default();
        let start = Instant::now();
        t.record(LinkId(1), start, 0);
        t.record(LinkId(1), start + Duration::from_secs(1), 1_000);
        t.record(LinkId(1), start + Duration::from_secs(2), 1_000);
        let rate = t.rate(LinkId(1), start + Duration::from_secs(2)).unwrap();
        assert!((rate - 1_000.0).abs() < 1.0, "{rate}");
        assert!(t.rate(LinkId(2), start).is_none());
        assert!(
            t.rate(LinkId(1), start + Duration::from_secs(60)).is_none(),
            "an idle link has no rate"
        );
    }

    #[test]
    fn eta_rounds_up_and_reads_as_minutes() {
        assert_eq!(eta_seconds(1_500, 1_000.0), Some(2));
        assert_eq!(eta_seconds(1, 0.0), None);
        assert_eq!(duration_label(65), "1:05");
        assert_eq!(duration_label(7_390), "2:03:10");
    }
}
