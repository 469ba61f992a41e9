//! The options of the operations: retry strategies and step semantics, callback timeouts,
//! and the completion rules of `map` and `parallel`. Plain values with builder methods; the
//! defaults are the official SDKs'.

use std::sync::Arc;
use std::time::Duration;

use super::error::Error;
use super::random;
pub use super::replay::StepSemantics;

/// When a failed step attempt is tried again, and after how long.
///
/// The default (as in the official SDKs): 6 attempts in all, the first retry after 5 s, each
/// delay twice the one before, at most 60 s, with full jitter (a random delay between 0 and
/// the computed one; the service's resolution is one second, so never below 1 s), every
/// error retryable.
///
/// ```
/// use std::time::Duration;
/// use lambda_loop::durable::{Jitter, RetryStrategy};
///
/// let strategy = RetryStrategy::default()
///     .max_attempts(3)
///     .initial_delay(Duration::from_secs(2))
///     .backoff_rate(3.0)
///     .jitter(Jitter::None)
///     .retryable(|error| error.error_type() != "InvalidOrder");
/// assert_eq!(strategy.delay_after(1, &lambda_loop::durable::Error::new("Timeout", "")), Some(Duration::from_secs(2)));
/// assert_eq!(strategy.delay_after(2, &lambda_loop::durable::Error::new("Timeout", "")), Some(Duration::from_secs(6)));
/// assert_eq!(strategy.delay_after(3, &lambda_loop::durable::Error::new("Timeout", "")), None);
/// assert_eq!(strategy.delay_after(1, &lambda_loop::durable::Error::new("InvalidOrder", "")), None);
/// ```
#[derive(Clone)]
pub struct RetryStrategy {
    max_attempts: u32,
    initial_delay: Duration,
    backoff_rate: f64,
    max_delay: Duration,
    jitter: Jitter,
    retryable: Option<Arc<Retryable>>,
}

/// A predicate that says which errors are retried.
type Retryable = dyn Fn(&Error) -> bool + Send + Sync;

/// How much of a computed retry delay is randomized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// The delay as computed.
    None,
    /// A random delay between 0 and the computed one.
    Full,
    /// A random delay between half the computed one and all of it.
    Half,
}

impl Default for RetryStrategy {
    fn default() -> RetryStrategy {
        RetryStrategy {
            max_attempts: 6,
            initial_delay: Duration::from_secs(5),
            backoff_rate: 2.0,
            max_delay: Duration::from_secs(60),
            jitter: Jitter::Full,
            retryable: None,
        }
    }
}

impl RetryStrategy {
    /// No retries: the first failure is the step's.
    pub fn none() -> RetryStrategy {
        RetryStrategy::default().max_attempts(1)
    }

    /// Attempts in all, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> RetryStrategy {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The delay before the first retry.
    pub fn initial_delay(mut self, delay: Duration) -> RetryStrategy {
        self.initial_delay = delay;
        self
    }

    /// What each delay is multiplied by for the next one.
    pub fn backoff_rate(mut self, rate: f64) -> RetryStrategy {
        self.backoff_rate = rate.max(1.0);
        self
    }

    /// The longest delay.
    pub fn max_delay(mut self, delay: Duration) -> RetryStrategy {
        self.max_delay = delay;
        self
    }

    /// The jitter.
    pub fn jitter(mut self, jitter: Jitter) -> RetryStrategy {
        self.jitter = jitter;
        self
    }

    /// Only errors for which `predicate` is true are retried.
    pub fn retryable(
        mut self,
        predicate: impl Fn(&Error) -> bool + Send + Sync + 'static,
    ) -> RetryStrategy {
        self.retryable = Some(Arc::new(predicate));
        self
    }

    /// The delay before the attempt after `failed_attempt` (counted from 1) failed with
    /// `error`; `None` when there is no next attempt. Whole seconds, at least one.
    pub fn delay_after(&self, failed_attempt: u32, error: &Error) -> Option<Duration> {
        if failed_attempt >= self.max_attempts {
            return None;
        }
        if let Some(retryable) = &self.retryable {
            if !retryable(error) {
                return None;
            }
        }
        let exponent = failed_attempt.saturating_sub(1).min(60) as i32;
        let computed = (self.initial_delay.as_secs_f64() * self.backoff_rate.powi(exponent))
            .min(self.max_delay.as_secs_f64());
        let jittered = match self.jitter {
            Jitter::None => computed,
            Jitter::Full => computed * random::fraction(),
            Jitter::Half => computed * (0.5 + 0.5 * random::fraction()),
        };
        Some(Duration::from_secs((jittered.ceil() as u64).max(1)))
    }
}

impl std::fmt::Debug for RetryStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryStrategy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_delay", &self.initial_delay)
            .field("backoff_rate", &self.backoff_rate)
            .field("max_delay", &self.max_delay)
            .field("jitter", &self.jitter)
            .field("retryable", &self.retryable.as_ref().map(|_| "predicate"))
            .finish()
    }
}

/// The options of a step: its retry strategy and its semantics.
#[derive(Debug, Clone, Default)]
pub struct StepOptions {
    pub(crate) retry: RetryStrategy,
    pub(crate) semantics: StepSemantics,
}

impl StepOptions {
    /// The default options: [`RetryStrategy::default`], at least once per retry.
    pub fn new() -> StepOptions {
        StepOptions::default()
    }

    /// The retry strategy.
    pub fn retry(mut self, strategy: RetryStrategy) -> StepOptions {
        self.retry = strategy;
        self
    }

    /// At most once per retry: START is confirmed before the work runs, and an attempt found
    /// started but unfinished counts as failed (see [`StepSemantics`]).
    pub fn at_most_once(mut self) -> StepOptions {
        self.semantics = StepSemantics::AtMostOncePerRetry;
        self
    }

    /// The semantics.
    pub fn semantics(mut self, semantics: StepSemantics) -> StepOptions {
        self.semantics = semantics;
        self
    }
}

/// The options of a callback.
#[derive(Debug, Clone, Default)]
pub struct CallbackOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) heartbeat_timeout: Option<Duration>,
    pub(crate) retry: Option<RetryStrategy>,
}

impl CallbackOptions {
    /// No timeouts.
    pub fn new() -> CallbackOptions {
        CallbackOptions::default()
    }

    /// The callback times out (fails with `TIMED_OUT`) when no result came within `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> CallbackOptions {
        self.timeout = Some(timeout);
        self
    }

    /// The callback times out when no heartbeat (SendDurableExecutionCallbackHeartbeat) came
    /// within `timeout`.
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> CallbackOptions {
        self.heartbeat_timeout = Some(timeout);
        self
    }

    /// For `wait_for_callback`: the retry strategy of the submitter step.
    pub fn submitter_retry(mut self, strategy: RetryStrategy) -> CallbackOptions {
        self.retry = Some(strategy);
        self
    }
}

/// When a `map` or `parallel` is complete. Without any rule, every item runs and failures are
/// recorded in the result.
#[derive(Debug, Clone, Copy, Default)]
pub struct Completion {
    pub(crate) min_successful: Option<usize>,
    pub(crate) tolerated_failure_count: Option<usize>,
    pub(crate) tolerated_failure_percentage: Option<f64>,
}

/// Why a `map` or `parallel` stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompletionReason {
    /// Every item finished.
    AllCompleted,
    /// Enough items succeeded.
    MinSuccessfulReached,
    /// More items failed than tolerated.
    FailureToleranceExceeded,
}

impl Completion {
    /// Every item runs.
    pub fn all() -> Completion {
        Completion::default()
    }

    /// Complete as soon as `count` items succeeded; items not started yet then never run.
    pub fn min_successful(mut self, count: usize) -> Completion {
        self.min_successful = Some(count);
        self
    }

    /// Stop when more than `count` items failed.
    pub fn tolerated_failure_count(mut self, count: usize) -> Completion {
        self.tolerated_failure_count = Some(count);
        self
    }

    /// Stop when more than `percentage` (0 to 100) of the items failed.
    pub fn tolerated_failure_percentage(mut self, percentage: f64) -> Completion {
        self.tolerated_failure_percentage = Some(percentage);
        self
    }

    /// Why the batch is complete, with `succeeded` and `failed` of `total` items finished;
    /// `None` while it goes on.
    pub(crate) fn reason(
        &self,
        succeeded: usize,
        failed: usize,
        total: usize,
    ) -> Option<CompletionReason> {
        let too_many_count = self
            .tolerated_failure_count
            .is_some_and(|limit| failed > limit);
        let too_many_share = self
            .tolerated_failure_percentage
            .is_some_and(|limit| total > 0 && (failed as f64) * 100.0 / (total as f64) > limit);
        if too_many_count || too_many_share {
            return Some(CompletionReason::FailureToleranceExceeded);
        }
        if self.min_successful.is_some_and(|count| succeeded >= count) {
            return Some(CompletionReason::MinSuccessfulReached);
        }
        (succeeded + failed == total).then_some(CompletionReason::AllCompleted)
    }
}

/// The options of `map` and `parallel`.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchOptions {
    pub(crate) max_concurrency: Option<usize>,
    pub(crate) completion: Completion,
}

impl BatchOptions {
    /// Every item at once, all of them run.
    pub fn new() -> BatchOptions {
        BatchOptions::default()
    }

    /// How many items run at once at most (each on a thread of its own).
    pub fn max_concurrency(mut self, threads: usize) -> BatchOptions {
        self.max_concurrency = Some(threads.max(1));
        self
    }

    /// The completion rules.
    pub fn completion(mut self, completion: Completion) -> BatchOptions {
        self.completion = completion;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_strategy_is_the_sdks() {
        let strategy = RetryStrategy::default().jitter(Jitter::None);
        let error = Error::new("E", "m");
        let delays: Vec<Option<u64>> = (1..=6)
            .map(|attempt| strategy.delay_after(attempt, &error).map(|d| d.as_secs()))
            .collect();
        assert_eq!(
            delays,
            [Some(5), Some(10), Some(20), Some(40), Some(60), None]
        );
        let full = RetryStrategy::default();
        for _ in 0..100 {
            let delay = full.delay_after(3, &error).unwrap();
            assert!(delay >= Duration::from_secs(1) && delay <= Duration::from_secs(20));
        }
    }

    #[test]
    fn completion_rules() {
        let all = Completion::all();
        assert_eq!(all.reason(2, 1, 4), None);
        assert_eq!(all.reason(3, 1, 4), Some(CompletionReason::AllCompleted));
        let two = Completion::all().min_successful(2);
        assert_eq!(
            two.reason(2, 0, 4),
            Some(CompletionReason::MinSuccessfulReached)
        );
        let strict = Completion::all().tolerated_failure_count(0);
        assert_eq!(
            strict.reason(0, 1, 4),
            Some(CompletionReason::FailureToleranceExceeded)
        );
        let share = Completion::all().tolerated_failure_percentage(25.0);
        assert_eq!(share.reason(1, 1, 4), None);
        assert_eq!(
            share.reason(1, 2, 4),
            Some(CompletionReason::FailureToleranceExceeded)
        );
    }
}
