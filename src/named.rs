//! Several handlers in one binary, chosen by the function's Handler setting (`_HANDLER`).
//!
//! The Rust counterpart of the reflection-based handler lookup of other runtimes: a table of
//! names and plain function pointers, searched once, in the initialisation.

use crate::context::{Config, Context};
use crate::error::{Error, Result};
use crate::protocol::{env, error_type};

/// A raw handler as a plain function: the entries of [`named`]'s table.
pub type HandlerFn = fn(&[u8], Context) -> Result<Vec<u8>>;

/// An initialisation that picks the handler whose name is the function's Handler setting
/// (`_HANDLER`, also in [`Config::handler`]) out of a table of names and plain functions; for
/// [`run_init`](crate::run_init):
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
///     lambda_loop::run_init(lambda_loop::named(&[
///         ("resize", resize),
///         ("thumb", thumb),
///         // A typed JSON handler: a closure that captures nothing is a plain function too.
///         ("order", |event, ctx| lambda_loop::json(order).handle(event, ctx)),
///     ]))
/// }
/// ```
///
/// The name must match exactly (the first match wins). An empty `_HANDLER`, or one that names
/// none of them, is an initialisation error: it is posted to `/runtime/init/error` with
/// `errorType` `Runtime.HandlerNotFound` and a message listing the known names, and the
/// process exits with code 1, before any event is taken. (In a local invoke, set `_HANDLER`
/// yourself: `_HANDLER=thumb ./bootstrap event.json`.)
///
/// The picked handler is a plain function, so it serves concurrently too:
/// `run_init(|config| Ok(lambda_loop::concurrent(named(TABLE)(config)?)))`.
pub fn named<'a>(
    handlers: &'a [(&'a str, HandlerFn)],
) -> impl FnOnce(&Config) -> Result<HandlerFn> + 'a {
    move |config| pick(handlers, config)
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
        format!("{} (the function's Handler setting) is empty", env::HANDLER)
    } else {
        format!(
            "{} (the function's Handler setting) is {wanted:?}, which is none of this binary's handlers",
            env::HANDLER
        )
    };
    Err(Error::new(
        error_type::HANDLER_NOT_FOUND,
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
            assert_eq!(error.error_type(), error_type::HANDLER_NOT_FOUND);
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
