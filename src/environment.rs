//! The process environment, read once at start.
//!
//! Each name is looked up on its own through `std::env::var`, which holds std's lock on the
//! environment while it calls `getenv`: sound whatever else runs, even a thread that calls
//! [`Config::from_env`] while the single loop writes `_X_AMZN_TRACE_ID`. Ten `getenv` scans
//! of Lambda's twenty-odd variables cost less than one pass of `std::env::vars_os`, which
//! copies every variable into two allocations (a fifth of the instructions of a whole local
//! invoke of the echo example, counted with cachegrind in a Lambda-like environment).
//! Reading C's `environ` in place, without the lock, raced with any such write.

use crate::context::Config;
use crate::protocol::env;

/// What the runtime reads at start: the configuration, and the endpoint of the Runtime API
/// (`None`: not on Lambda, so the function is invoked locally).
pub(crate) fn read_at_start() -> (Config, Option<String>) {
    (Config::from_env(), endpoint())
}

/// The endpoint of the Runtime API, from `AWS_LAMBDA_RUNTIME_API`; `None` when unset (for
/// `on_shutdown`, which needs no configuration).
pub(crate) fn endpoint() -> Option<String> {
    std::env::var_os(env::RUNTIME_API).map(|value| value.to_string_lossy().into_owned())
}

impl Config {
    /// Reads the configuration from the process environment, each variable under std's lock
    /// on the environment: any thread may call it at any time.
    pub fn from_env() -> Config {
        Config {
            from_env: true,
            ..Config::from_lookup(|name| std::env::var(name).ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_asks_for_each_of_its_names_once() {
        let mut asked = Vec::new();
        Config::from_lookup(|name| {
            asked.push(name.to_owned());
            None
        });
        let config_variables = [
            env::MAX_CONCURRENCY,
            env::FUNCTION_NAME,
            env::FUNCTION_VERSION,
            env::FUNCTION_MEMORY_SIZE,
            env::LOG_GROUP_NAME,
            env::LOG_STREAM_NAME,
            env::REGION,
            env::HANDLER,
            env::INITIALIZATION_TYPE,
        ];
        assert_eq!(asked, config_variables.map(str::to_owned));
    }

    #[test]
    fn the_start_reads_what_std_reads() {
        let (config, endpoint) = read_at_start();
        let expected = Config::from_lookup(|name| std::env::var(name).ok());
        assert_eq!(
            config,
            Config {
                from_env: true,
                ..expected
            }
        );
        assert_eq!(endpoint, std::env::var(env::RUNTIME_API).ok());
    }
}
