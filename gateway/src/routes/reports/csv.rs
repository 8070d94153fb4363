//! CSV answers: what a spreadsheet opens, with fields quoted the RFC 4180 way.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::extract::ApiJson;

/// A report's row as a CSV line: the columns are the JSON row's fields, in the same order and
/// with the same names, so a spreadsheet and a script read the same report.
pub(super) trait CsvRow {
    /// The column names.
    const HEADER: &'static [&'static str];
    /// The row's fields, one per column.
    fn fields(&self) -> Vec<String>;
}

/// A report answered as the client asked: CSV of `rows` with `Accept: text/csv`, else `body` as
/// JSON (the body holds the rows along with the span and totals).
pub(super) fn answer<R: CsvRow>(
    headers: &HeaderMap,
    body: &impl Serialize,
    rows: &[R],
) -> Response {
    if wants_csv(headers) {
        csv(R::HEADER, rows.iter().map(CsvRow::fields))
    } else {
        ApiJson(body).into_response()
    }
}

/// A CSV field of an optional value: empty when absent.
pub(super) fn optional(value: Option<impl ToString>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// A CSV field of a time: RFC 3339 to the second, in UTC; empty when absent.
pub(super) fn time(at: Option<DateTime<Utc>>) -> String {
    optional(at.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)))
}

/// Whether the client asked for CSV.
fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.to_ascii_lowercase().contains("text/csv"))
}

/// One CSV field, quoted when it holds a separator, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A CSV document: a header line, then the rows, CRLF-terminated.
fn csv(header_row: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Response {
    let mut body = String::new();
    let mut line = |fields: Vec<String>| {
        let fields: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        body.push_str(&fields.join(","));
        body.push_str("\r\n");
    };
    line(header_row.iter().map(|name| (*name).to_owned()).collect());
    for row in rows {
        line(row);
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_separators_quotes_or_line_breaks_are_quoted() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
