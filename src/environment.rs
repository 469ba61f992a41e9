//! The process environment, read once at start.
//!
//! Each name is looked up on its own through `std::env::var_os`, which holds std's lock on the
//! environment while it calls `getenv`: sound whatever else runs, even a thread that calls
//! [`Config::from_env`] while the single loop writes `_X_AMZN_TRACE_ID`. Ten `getenv` scans
//! of Lambda's twenty-odd variables cost less than one pass of `std::env::vars_os`, which
//! copies every variable into two allocations (a fifth of the instructions of a whole local
//! invoke of the echo example, counted with cachegrind in a Lambda-like environment). Reading C's `environ` in place, without the lock,
//! raced with any such write.

use std::os::unix::ffi::OsStringExt;

use crate::context::{Config, CONFIG_VARIABLES};
use crate::protocol::env;

/// The values of a fixed set of names, read from the environment.
pub(crate) struct Found<const N: usize> {
    names: [&'static str; N],
    values: [Option<Vec<u8>>; N],
}

/// Reads `names` from the process environment, each under std's lock on the environment (so
/// any thread may call it, at any time). Where a name appears twice, the first entry wins, as
/// with `getenv`.
pub(crate) fn read<const N: usize>(names: [&'static str; N]) -> Found<N> {
    let values = names.map(|name| std::env::var_os(name).map(|value| value.into_vec()));
    Found { names, values }
}

impl<const N: usize> Found<N> {
    /// The raw value of `name`, taken out; `None` when unset, or not one of the names read.
    fn take_bytes(&mut self, name: &str) -> Option<Vec<u8>> {
        let slot = self.names.iter().position(|wanted| *wanted == name)?;
        self.values[slot].take()
    }

    /// The value of `name` as `std::env::var(name).ok()` gives it: a value that is not UTF-8
    /// counts as unset.
    pub(crate) fn take(&mut self, name: &str) -> Option<String> {
        String::from_utf8(self.take_bytes(name)?).ok()
    }

    /// The value of `name`, with any bytes that are not UTF-8 replaced by U+FFFD.
    pub(crate) fn take_lossy(&mut self, name: &str) -> Option<String> {
        let value = self.take_bytes(name)?;
        Some(String::from_utf8_lossy(&value).into_owned())
    }
}

/// What the runtime reads at start: the configuration, and the endpoint of the Runtime API
/// (`None`: not on Lambda, so the function is invoked locally).
pub(crate) fn read_at_start() -> (Config, Option<String>) {
    let mut names = [env::RUNTIME_API; CONFIG_VARIABLES.len() + 1];
    names[1..].copy_from_slice(&CONFIG_VARIABLES);
    let mut found = read(names);
    let endpoint = found.take_lossy(env::RUNTIME_API);
    let config = Config {
        from_env: true,
        ..Config::from_lookup(|name| found.take(name))
    };
    (config, endpoint)
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
        read_at_start().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_asks_only_for_the_names_read_in_the_one_pass() {
        let mut asked = Vec::new();
        Config::from_lookup(|name| {
            asked.push(name.to_owned());
            None
        });
        assert_eq!(asked, CONFIG_VARIABLES.map(str::to_owned));
    }

    #[test]
    fn a_name_is_found_once_and_others_are_unset() {
        // PATH is set in any test process; the other name is not.
        let mut found = read(["PATH", "LAMBDA_LOOP_SURELY_UNSET"]);
        assert_eq!(found.take("PATH"), std::env::var("PATH").ok());
        assert_eq!(found.take("PATH"), None);
        assert_eq!(found.take("LAMBDA_LOOP_SURELY_UNSET"), None);
        assert_eq!(found.take("HOME"), None);
    }
}
