//! Several handlers in one binary, chosen by the function's Handler setting (`_HANDLER`).
//!
//! The Rust counterpart of the reflection-based handler lookup of other runtimes: a table of
//! names and plain function pointers, searched once at start.

use crate::context::{Config, Context};
use crate::error::{Error, Result};

/// A raw handler as a plain function: the entries of [`run_named`]'s table.
pub type HandlerFn = fn(&[u8], Context) -> Result<Vec<u8>>;

/// `errorType` of the init error when `_HANDLER` names no handler of the table.
pub const HANDLER_NOT_FOUND: &str = "Runtime.HandlerNotFound";

/// Serves the handler whose name is the function's Handler setting (`_HANDLER`, also in
/// [`Config::handler`]), out of a table of names and plain functions:
///
/// ```no_run
/// use lambda_loop::{Context, Result};
///
/// fn resize(event: &[u8], _ctx: Context) -> Result<Vec<u8>> { Ok(event.to_vec()) }
/// fn thumb(event: &[u8], _ctx: Context) -> Result<Vec<u8>> { Ok(event[..1].to_vec()) }
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64 }
/// fn order(order: Order, _ctx: Context) -> Result<String> { Ok(format!("order {}", order.id)) }
///
/// fn main() {
///     lambda_loop::run_named(&[
///         ("resize", resize),
///         ("thumb", thumb),
///         // A typed JSON handler: a closure that captures nothing is a plain function too.
///         ("order", |event, ctx| lambda_loop::json(order)(event, ctx)),
///     ])
/// }
/// ```
///
/// The name must match exactly (the first match wins). An empty `_HANDLER`, or one that names
/// none of them, is an initialisation error: it is posted to `/runtime/init/error` with
/// `errorType` [`HANDLER_NOT_FOUND`] and a message listing the known names, and the process
/// exits with code 1, before any event is taken. (In a local invoke, set `_HANDLER` yourself:
/// `_HANDLER=thumb ./bootstrap event.json`.)
///
/// Handlers that need their own initialisation or state fit better in [`run_init`](crate::run_init),
/// matching on `config.handler` there.
pub fn run_named(handlers: &[(&str, HandlerFn)]) -> ! {
    crate::run_init(|config| pick(handlers, config))
}

/// The handler named by `config.handler`, or the init error that lists the known names.
fn pick<H: Copy>(handlers: &[(&str, H)], config: &Config) -> Result<H> {
    let wanted = config.handler.as_str();
    if let Some((_, handler)) = handlers.iter().find(|(name, _)| *name == wanted) {
        return Ok(*handler);
    }
    let known = handlers
        .iter()
        .map(|(name, _)| format!("{name:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let problem = if wanted.is_empty() {
        "_HANDLER (the function's Handler setting) is empty".to_owned()
    } else {
        format!("_HANDLER (the function's Handler setting) is {wanted:?}, which is none of this binary's handlers")
    };
    Err(Error::new(
        HANDLER_NOT_FOUND,
        format!("{problem}; set it to one of: {known}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(handler: &str) -> Config {
        Config::from_lookup(|name| (name == "_HANDLER").then(|| handler.to_owned()))
    }

    #[test]
    fn the_exact_name_picks_its_handler() {
        let table = [("resize", 1), ("thumb", 2), ("thumb", 3)];
        assert_eq!(pick(&table, &config("resize")).unwrap(), 1);
        assert_eq!(pick(&table, &config("thumb")).unwrap(), 2);
    }

    #[test]
    fn an_unknown_or_empty_name_lists_the_known_ones() {
        let table = [("resize", 1), ("thumb", 2)];
        for wanted in ["Resize", "resize ", "bootstrap", ""] {
            let error = pick(&table, &config(wanted)).unwrap_err();
            assert_eq!(error.error_type(), HANDLER_NOT_FOUND);
            assert!(
                error
                    .message()
                    .ends_with("set it to one of: \"resize\", \"thumb\""),
                "{}",
                error.message()
            );
            assert!(error.message().contains("_HANDLER"), "{}", error.message());
        }
        let empty = pick(&table, &config("")).unwrap_err();
        assert!(empty.message().contains("is empty"), "{}", empty.message());
    }
}
