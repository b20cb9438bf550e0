//! A limit on provider calls across all of an installation's conversations (Telegram's 30
//! messages a second per bot, Discord's global 50 a second, a WhatsApp number's throughput):
//! a sliding window of the last calls' times, kept by one Durable Object per installation that
//! every conversation of it asks before a call.
//!
//! # What's out of scope
//! Where the window lives (the edge's `Limiter` object; in memory: an evicted, idle limiter
//! starts empty, which an idle installation is) and the clock.

use super::Rate;
use std::collections::VecDeque;

/// Slack added to each window, ms: a call granted now reaches the provider a little later, and
/// a little later than the one granted before it, so windows measured at the provider stay
/// within the rate.
pub const SLACK_MS: u64 = 100;

/// The times of the calls granted in the current window, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    times: VecDeque<u64>,
}

impl Window {
    /// Grants a call at `now` (ms) when fewer than `rate.calls` were granted in the last
    /// `rate.per_ms` (plus [`SLACK_MS`]); otherwise `Err` with the time a slot frees up.
    pub fn acquire(&mut self, now: u64, rate: Rate) -> Result<(), u64> {
        let window = rate.per_ms.saturating_add(SLACK_MS);
        while self
            .times
            .front()
            .is_some_and(|at| at.saturating_add(window) <= now)
        {
            self.times.pop_front();
        }
        if self.times.len() < rate.calls as usize {
            self.times.push_back(now);
            return Ok(());
        }
        let oldest = self.times.front().copied().unwrap_or(now);
        Err(oldest.saturating_add(window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        calls: 30,
        per_ms: 1000,
    };

    #[test]
    fn no_more_calls_than_the_rate_in_any_window() {
        let mut window = Window::default();
        let mut granted = Vec::new();
        // 40 conversations asking every 10 ms for 3 s.
        for tick in 0..300u64 {
            let now = tick * 10;
            for _ in 0..40 {
                if window.acquire(now, RATE).is_ok() {
                    granted.push(now);
                }
            }
        }
        for (index, at) in granted.iter().enumerate() {
            let within = granted
                .iter()
                .skip(index)
                .take_while(|later| **later < at + 1000)
                .count();
            assert!(within <= 30, "{within} calls in the second from {at}");
        }
        assert_eq!(granted.len(), 90, "30 a second (and a tenth) for 3 s");
    }

    #[test]
    fn a_refusal_says_when_a_slot_frees_up() {
        let mut window = Window::default();
        for i in 0..30 {
            window.acquire(i, RATE).unwrap();
        }
        assert_eq!(window.acquire(500, RATE), Err(1100));
        assert_eq!(window.acquire(1100, RATE), Ok(()));
        assert_eq!(window.acquire(1100, RATE), Err(1101));
    }
}
