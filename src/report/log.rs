//! `--log-format json`: one JSON object per line on stderr for each event of a run, for log
//! shippers and cron mail filters. Every line has `ts` (RFC 3339, UTC, milliseconds), `level`
//! and `event`, then the event's own fields; [`crate::report::Reporter`] decides which events
//! are emitted, this module only writes them.

use serde::Serialize;
use std::io::Write;
use std::time::SystemTime;

/// How stderr messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Progress bars on a terminal, plain lines elsewhere, a summary table at the end.
    #[default]
    Text,
    /// One JSON object per event and line; no bars, no summary table.
    Json,
}

/// How much an event matters: `-q` keeps only errors, `-v` adds debug events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    level: Level,
    event: &'a str,
    #[serde(flatten)]
    fields: serde_json::Value,
}

/// The line for `event` with `fields` (a JSON object), without its newline.
pub fn line(level: Level, event: &str, fields: serde_json::Value) -> String {
    let line = Line {
        ts: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        level,
        event,
        fields,
    };
    // Serializing strings, numbers and maps cannot fail; an empty object keeps the promise of
    // one JSON object per line even so.
    serde_json::to_string(&line).unwrap_or_else(|_| "{}".into())
}

/// Writes one event line to stderr in one piece, so lines of concurrent chunks never interleave.
pub fn emit(level: Level, event: &str, fields: serde_json::Value) {
    let mut text = line(level, event, fields);
    text.push('\n');
    // A closed stderr loses the log line; it is no reason to stop a sync.
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_one_json_object_with_timestamp_level_and_event() {
        let text = line(
            Level::Warn,
            "chunk_retried",
            serde_json::json!({ "table": "t", "attempt": 1 }),
        );
        assert!(!text.contains('\n'));
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(parsed["level"], "warn");
        assert_eq!(parsed["event"], "chunk_retried");
        assert_eq!(parsed["table"], "t");
        assert_eq!(parsed["attempt"], 1);
        let ts = parsed["ts"].as_str().expect("ts is a string");
        assert!(ts.ends_with('Z') && ts.contains('T'), "{ts}");
        assert!(humantime::parse_rfc3339(ts).is_ok(), "{ts}");
    }
}
