//! Process-wide logging set-up: structured JSON logs by default, a readable
//! format for humans, filtered by `RUST_LOG`.

use std::fmt;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,lapin=warn";

/// How log lines are written to stdout (`json` or `pretty` on the command
/// line; clap lists both when given another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, event and span fields included.
    #[default]
    Json,
    /// Multi-line output for a developer's terminal (coloured when stdout is one).
    Pretty,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Pretty => "pretty",
        })
    }
}

/// Installs the global tracing subscriber.
///
/// The filter comes from `RUST_LOG`, defaulting to [`DEFAULT_FILTER`]. JSON
/// lines carry the event's fields at top level, the innermost span's fields
/// under `span` and every enclosing span under `spans`, so `request_id`,
/// `store_id` and `operation_id` recorded on spans appear on each line.
///
/// A second call (as happens in tests) leaves the first subscriber in place.
pub fn init_tracing(format: LogFormat) {
    let (filter, bad_filter) = match std::env::var("RUST_LOG") {
        Ok(directives) => match EnvFilter::try_new(&directives) {
            Ok(filter) => (filter, None),
            Err(err) => (EnvFilter::new(DEFAULT_FILTER), Some((directives, err))),
        },
        Err(_) => (EnvFilter::new(DEFAULT_FILTER), None),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => builder
            .pretty()
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
    };
    if installed.is_ok()
        && let Some((directives, err)) = bad_filter
    {
        tracing::warn!(rust_log = %directives, error = %err, default = DEFAULT_FILTER, "ignoring invalid RUST_LOG");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_round_trips_through_its_string_form() {
        for format in [LogFormat::Json, LogFormat::Pretty] {
            let parsed = <LogFormat as clap::ValueEnum>::from_str(&format.to_string(), false);
            assert_eq!(parsed, Ok(format));
        }
    }

    #[test]
    fn unknown_log_format_error_lists_valid_values() {
        use clap::ValueEnum;
        assert!(LogFormat::from_str("xml", true).is_err());
        let names: Vec<String> = LogFormat::value_variants()
            .iter()
            .filter_map(|format| format.to_possible_value())
            .map(|value| value.get_name().to_owned())
            .collect();
        assert_eq!(names, ["json", "pretty"]);
        assert_eq!(LogFormat::from_str("pretty", true), Ok(LogFormat::Pretty));
    }

    #[test]
    fn init_tracing_twice_is_harmless() {
        init_tracing(LogFormat::Json);
        init_tracing(LogFormat::Pretty);
    }
}
