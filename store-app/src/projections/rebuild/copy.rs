//! Change and count rows in `COPY … FROM STDIN` text format (tab between
//! fields, `\N` for none, backslash escapes), the cheapest way into
//! PostgreSQL for the bulk of a rebuild's rows.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::super::rows::{ChangeRow, CountRow};

/// The columns of `counts` in the order [`count_lines`] writes them.
pub const COUNT_COLUMNS: &str = "operation_id, sku, counted, delta, expected_version, reason, \
     client_id, counted_at, version_after";

/// Copies `lines` (made by [`change_lines`] or [`count_lines`]) into
/// `table (columns)`; nothing when there are none.
pub async fn copy(
    conn: &mut PgConnection,
    table: &str,
    columns: &str,
    lines: String,
) -> anyhow::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    copy.send(lines.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// `rows` in the order of `tables::CHANGE_COLUMNS`.
pub fn change_lines(rows: &[ChangeRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 256);
    for row in rows {
        let mut line = Line(&mut out);
        line.plain(row.operation_id);
        line.text(Some(&row.sku));
        line.value(row.position);
        line.text(Some(&row.kind));
        line.plain(row.delta);
        line.value(row.expected_version);
        line.text(row.reason.as_deref());
        line.text(row.client_id.as_deref());
        line.value(row.transfer_id);
        line.value(row.reservation_id);
        line.time(Some(row.occurred_at));
        line.plain(row.quantity_after);
        line.plain(row.version_after);
        line.text(Some(&row.status));
        line.text(row.result_code.as_deref());
        line.value(row.because_of);
        line.value(row.central_version);
        line.value(row.central_quantity);
        line.time(row.settled_at);
        line.end();
    }
    out
}

/// `rows` in the order of [`COUNT_COLUMNS`].
pub fn count_lines(rows: &[CountRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 160);
    for row in rows {
        let mut line = Line(&mut out);
        line.plain(row.operation_id);
        line.text(Some(&row.sku));
        line.plain(row.counted);
        line.plain(row.delta);
        line.value(row.expected_version);
        line.text(row.reason.as_deref());
        line.text(row.client_id.as_deref());
        line.time(Some(row.counted_at));
        line.plain(row.version_after);
        line.end();
    }
    out
}

/// One line being written: each field is followed by a tab, which
/// [`Line::end`] turns into the newline.
struct Line<'a>(&'a mut String);

impl Line<'_> {
    /// A value whose text needs no escape (numbers, UUIDs).
    fn plain(&mut self, value: impl std::fmt::Display) {
        let _ = write!(self.0, "{value}\t");
    }

    fn value(&mut self, value: Option<impl std::fmt::Display>) {
        match value {
            Some(value) => self.plain(value),
            None => self.0.push_str("\\N\t"),
        }
    }

    /// A time as `2026-01-01 00:00:00.011 UTC`, which PostgreSQL reads.
    fn time(&mut self, value: Option<DateTime<Utc>>) {
        self.value(value);
    }

    fn text(&mut self, value: Option<&str>) {
        let Some(value) = value else {
            self.0.push_str("\\N\t");
            return;
        };
        if !value.contains(['\\', '\t', '\n', '\r']) {
            self.0.push_str(value);
            self.0.push('\t');
            return;
        }
        for c in value.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '\t' => self.0.push_str("\\t"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
        self.0.push('\t');
    }

    fn end(self) {
        self.0.pop();
        self.0.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_none_is_null() {
        let mut out = String::new();
        let mut line = Line(&mut out);
        line.text(Some("a\tb\\c\nd"));
        line.text(None);
        line.value(Some(7));
        line.end();
        assert_eq!(out, "a\\tb\\\\c\\nd\t\\N\t7\n");
    }
}
