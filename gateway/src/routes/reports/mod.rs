//! The reports (admin) and the customer's statement: figures the reports service projects
//! from the domain events, as JSON, or as CSV for spreadsheets when the client accepts
//! `text/csv`.

mod csv;
pub mod statement;

use actors::reports::{self, GroupBy, RevenueRow, Summary, UtilisationRow};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Admin;
use crate::error::{ApiError, Problem};
use crate::extract::ApiQuery;
use crate::state::AppState;
use csv::{CsvRow, answer, optional, time};
use statement::{__path_rebuild, __path_statement, rebuild, statement};

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(revenue))
        .routes(routes!(utilisation))
        .routes(routes!(summary))
        .routes(routes!(statement))
        .routes(routes!(rebuild))
}

/// A report's span, `[from, to)`, at most 366 days.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SpanQuery {
    /// Start (included), RFC 3339.
    #[param(value_type = String, format = DateTime, example = "2026-12-01T00:00:00-03:00")]
    pub from: String,
    /// End (excluded), RFC 3339, after `from` and at most 366 days later.
    #[param(value_type = String, format = DateTime, example = "2026-12-08T00:00:00-03:00")]
    pub to: String,
}

/// The revenue report's span and grouping.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// Start (included), RFC 3339.
    #[param(value_type = String, format = DateTime, example = "2026-12-01T00:00:00-03:00")]
    pub from: String,
    /// End (excluded), RFC 3339, after `from` and at most 366 days later.
    #[param(value_type = String, format = DateTime, example = "2026-12-08T00:00:00-03:00")]
    pub to: String,
    /// `day` (local day, UTC−03:00), `vehicle` or `area`; `day` when absent.
    #[param(value_type = Option<String>, pattern = "^(day|vehicle|area)$")]
    pub group_by: Option<String>,
}

/// One group of the revenue report.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueRowDto {
    /// The local day (`YYYY-MM-DD`), the car's id, or the area: the name of the configured
    /// neighbourhood nearest to where the rental started, `outside` (farther than 8 km from
    /// all of them) or `unknown`.
    pub key: String,
    /// Captured from the holds, in centavos.
    pub captured_cents: i64,
    /// Charged beyond the holds.
    pub extra_cents: i64,
    /// Refunded.
    pub refunded_cents: i64,
    /// Captured plus extra, less refunds.
    pub revenue_cents: i64,
    /// Reservations whose money moved in this group.
    pub reservations: usize,
}

impl CsvRow for RevenueRowDto {
    const HEADER: &'static [&'static str] = &[
        "key",
        "captured_cents",
        "extra_cents",
        "refunded_cents",
        "revenue_cents",
        "reservations",
    ];
    fn fields(&self) -> Vec<String> {
        vec![
            self.key.clone(),
            self.captured_cents.to_string(),
            self.extra_cents.to_string(),
            self.refunded_cents.to_string(),
            self.revenue_cents.to_string(),
            self.reservations.to_string(),
        ]
    }
}

impl From<RevenueRow> for RevenueRowDto {
    fn from(row: RevenueRow) -> Self {
        RevenueRowDto {
            key: row.key,
            captured_cents: row.captured_cents,
            extra_cents: row.extra_cents,
            refunded_cents: row.refunded_cents,
            revenue_cents: row.revenue_cents,
            reservations: row.reservations,
        }
    }
}

/// Revenue over a span.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueDto {
    /// Start (included).
    pub from: DateTime<Utc>,
    /// End (excluded).
    pub to: DateTime<Utc>,
    /// `day`, `vehicle` or `area`.
    pub group_by: String,
    /// Always `BRL`.
    pub currency: &'static str,
    /// Every group's revenue together.
    pub total_cents: i64,
    /// The groups, in key order.
    pub rows: Vec<RevenueRowDto>,
}

/// Money taken in a span (captured and charged beyond holds, less refunds), by the local day
/// (UTC−03:00) the money moved, by car, or by area: the neighbourhood (`console.neighbourhoods`)
/// whose centre is nearest to the car's position at the rental's start. Admin. CSV with
/// `Accept: text/csv`.
#[utoipa::path(
    get, path = "/v1/reports/revenue", tag = "reports",
    operation_id = "report_revenue",
    params(RevenueQuery),
    responses(
        (status = 200, content(
            (RevenueDto = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A missing or unknown parameter", body = Problem),
        (status = 422, description = "Times not RFC 3339, `from` not before `to`, a span over 366 days, an unknown `group_by`", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn revenue(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<RevenueQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = reports::parse_span(&query.from, &query.to)?;
    let group = query.group_by.as_deref().unwrap_or("day");
    let group_by = GroupBy::parse(group)?;
    let rows: Vec<RevenueRowDto> = state
        .services
        .reports
        .revenue(from, to, group_by)?
        .into_iter()
        .map(Into::into)
        .collect();
    let body = RevenueDto {
        from,
        to,
        group_by: group.to_owned(),
        currency: "BRL",
        total_cents: rows.iter().map(|row| row.revenue_cents).sum(),
        rows,
    };
    Ok(answer(&headers, &body, &body.rows))
}

/// One car's utilisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtilisationRowDto {
    /// The car.
    #[schema(format = Uuid)]
    pub vehicle_id: String,
    /// Its plate, when known.
    pub plate: Option<String>,
    /// Hours under a rental (unlock to release) within the span.
    pub hours_rented: f64,
    /// Hours registered and not retired within the span, up to now.
    pub hours_in_service: f64,
    /// Rented over in service, 0 to 1.
    pub utilisation: f64,
}

impl CsvRow for UtilisationRowDto {
    const HEADER: &'static [&'static str] = &[
        "vehicle_id",
        "plate",
        "hours_rented",
        "hours_in_service",
        "utilisation",
    ];
    fn fields(&self) -> Vec<String> {
        vec![
            self.vehicle_id.clone(),
            optional(self.plate.as_ref()),
            format!("{:.3}", self.hours_rented),
            format!("{:.3}", self.hours_in_service),
            format!("{:.4}", self.utilisation),
        ]
    }
}

impl From<UtilisationRow> for UtilisationRowDto {
    fn from(row: UtilisationRow) -> Self {
        UtilisationRowDto {
            vehicle_id: row.vehicle_id.to_string(),
            plate: row.plate,
            hours_rented: row.hours_rented,
            hours_in_service: row.hours_in_service,
            utilisation: row.utilisation,
        }
    }
}

/// Utilisation over a span.
#[derive(Debug, Serialize, ToSchema)]
pub struct UtilisationDto {
    /// Start (included).
    pub from: DateTime<Utc>,
    /// End (excluded).
    pub to: DateTime<Utc>,
    /// One row per car, by id.
    pub cars: Vec<UtilisationRowDto>,
}

/// Each car's hours rented over its hours in service in a span (admin). A car registered
/// before the event log's retention counts as in service from `from`. CSV with
/// `Accept: text/csv`.
#[utoipa::path(
    get, path = "/v1/reports/utilisation", tag = "reports",
    operation_id = "report_utilisation",
    params(SpanQuery),
    responses(
        (status = 200, content(
            (UtilisationDto = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A missing or unknown parameter", body = Problem),
        (status = 422, description = "Times not RFC 3339, `from` not before `to`, a span over 366 days", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn utilisation(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SpanQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = reports::parse_span(&query.from, &query.to)?;
    let cars = state.services.reports.utilisation(from, to)?;
    let body = UtilisationDto {
        from,
        to,
        cars: cars.into_iter().map(Into::into).collect(),
    };
    Ok(answer(&headers, &body, &body.cars))
}

/// No-shows, cancellations, late returns and balances over a span.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryDto {
    /// Start (included).
    pub from: DateTime<Utc>,
    /// End (excluded).
    pub to: DateTime<Utc>,
    /// Reservations that became no-shows in the span.
    pub no_shows: usize,
    /// Their fees, in centavos.
    pub no_show_fees_cents: i64,
    /// Reservations cancelled in the span.
    pub cancellations: usize,
    /// Rentals that ended in the span after their booked end.
    pub late_returns: usize,
    /// Their overtime and late fees.
    pub overtime_cents: i64,
    /// Rentals that ended in the span with money the card refused.
    pub refused_at_end: usize,
    /// What those refusals came to.
    pub refused_at_end_cents: i64,
    /// Customers who owe money now (whatever the span).
    pub customers_owing: usize,
    /// What they owe now.
    pub outstanding_cents: i64,
}

impl CsvRow for SummaryDto {
    const HEADER: &'static [&'static str] = &[
        "from",
        "to",
        "no_shows",
        "no_show_fees_cents",
        "cancellations",
        "late_returns",
        "overtime_cents",
        "refused_at_end",
        "refused_at_end_cents",
        "customers_owing",
        "outstanding_cents",
    ];
    fn fields(&self) -> Vec<String> {
        vec![
            time(Some(self.from)),
            time(Some(self.to)),
            self.no_shows.to_string(),
            self.no_show_fees_cents.to_string(),
            self.cancellations.to_string(),
            self.late_returns.to_string(),
            self.overtime_cents.to_string(),
            self.refused_at_end.to_string(),
            self.refused_at_end_cents.to_string(),
            self.customers_owing.to_string(),
            self.outstanding_cents.to_string(),
        ]
    }
}

impl SummaryDto {
    fn new(from: DateTime<Utc>, to: DateTime<Utc>, summary: Summary) -> Self {
        SummaryDto {
            from,
            to,
            no_shows: summary.no_shows,
            no_show_fees_cents: summary.no_show_fees_cents,
            cancellations: summary.cancellations,
            late_returns: summary.late_returns,
            overtime_cents: summary.overtime_cents,
            refused_at_end: summary.refused_at_end,
            refused_at_end_cents: summary.refused_at_end_cents,
            customers_owing: summary.customers_owing,
            outstanding_cents: summary.outstanding_cents,
        }
    }
}

/// No-shows, cancellations and late returns in a span, and the customers' outstanding
/// balances now (admin). CSV (one row) with `Accept: text/csv`.
#[utoipa::path(
    get, path = "/v1/reports/summary", tag = "reports",
    operation_id = "report_summary",
    params(SpanQuery),
    responses(
        (status = 200, content(
            (SummaryDto = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A missing or unknown parameter", body = Problem),
        (status = 422, description = "Times not RFC 3339, `from` not before `to`, a span over 366 days", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn summary(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SpanQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = reports::parse_span(&query.from, &query.to)?;
    let body = SummaryDto::new(from, to, state.services.reports.summary(from, to)?);
    Ok(answer(&headers, &body, std::slice::from_ref(&body)))
}
