//! The customer's own statement, and the operators' rebuild of the reports.

use actors::reports::{self, StatementLine};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::SpanQuery;
use super::csv::{CsvRow, answer, optional, time};
use crate::auth::{Admin, Customer};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

/// One trip of a statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementLineDto {
    /// The reservation.
    #[schema(format = Uuid)]
    pub reservation_id: Option<String>,
    /// The car.
    #[schema(format = Uuid)]
    pub vehicle_id: Option<String>,
    /// Its plate.
    pub plate: Option<String>,
    /// Its model.
    pub model: Option<String>,
    /// The booked start.
    pub start_at: Option<DateTime<Utc>>,
    /// The booked end.
    pub end_at: Option<DateTime<Utc>>,
    /// When the car was first unlocked.
    pub started_at: Option<DateTime<Utc>>,
    /// When the rental ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// `confirmed`, `active`, `completed`, `cancelled`, `no_show`.
    pub status: &'static str,
    /// Kilometres driven, from the car's reported positions between the start and the end;
    /// null when they are not known (kept `events.retention_days`).
    pub distance_km: Option<f64>,
    /// Every hold, in centavos.
    pub hold_cents: i64,
    /// What the rental cost (for a no-show, the fee).
    pub total_cents: i64,
    /// Of which overtime and the late fee.
    pub overtime_cents: i64,
    /// Taken from the card, less refunds.
    pub paid_cents: i64,
    /// Refunded.
    pub refunded_cents: i64,
    /// What the card refused at the end (owed).
    pub outstanding_cents: i64,
}

impl CsvRow for StatementLineDto {
    const HEADER: &'static [&'static str] = &[
        "reservation_id",
        "vehicle_id",
        "plate",
        "model",
        "start_at",
        "end_at",
        "started_at",
        "ended_at",
        "status",
        "distance_km",
        "hold_cents",
        "total_cents",
        "overtime_cents",
        "paid_cents",
        "refunded_cents",
        "outstanding_cents",
    ];
    fn fields(&self) -> Vec<String> {
        vec![
            optional(self.reservation_id.as_ref()),
            optional(self.vehicle_id.as_ref()),
            optional(self.plate.as_ref()),
            optional(self.model.as_ref()),
            time(self.start_at),
            time(self.end_at),
            time(self.started_at),
            time(self.ended_at),
            self.status.to_owned(),
            optional(self.distance_km.map(|km| format!("{km:.3}"))),
            self.hold_cents.to_string(),
            self.total_cents.to_string(),
            self.overtime_cents.to_string(),
            self.paid_cents.to_string(),
            self.refunded_cents.to_string(),
            self.outstanding_cents.to_string(),
        ]
    }
}

impl From<StatementLine> for StatementLineDto {
    fn from(line: StatementLine) -> Self {
        StatementLineDto {
            reservation_id: line.reservation_id.map(|id| id.to_string()),
            vehicle_id: line.vehicle_id.map(|id| id.to_string()),
            plate: line.plate,
            model: line.model,
            start_at: line.start_at,
            end_at: line.end_at,
            started_at: line.started_at,
            ended_at: line.ended_at,
            status: line.status,
            distance_km: line.distance_km,
            hold_cents: line.hold_cents,
            total_cents: line.total_cents,
            overtime_cents: line.overtime_cents,
            paid_cents: line.paid_cents,
            refunded_cents: line.refunded_cents,
            outstanding_cents: line.outstanding_cents,
        }
    }
}

/// A customer's trips over a span.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatementDto {
    /// Start (included).
    pub from: DateTime<Utc>,
    /// End (excluded).
    pub to: DateTime<Utc>,
    /// Always `BRL`.
    pub currency: &'static str,
    /// Trips booked to start in the span, by start.
    pub trips: Vec<StatementLineDto>,
}

/// The caller's own trips booked to start in a span, with the car, the times, the distance
/// when known and the amounts (customer). CSV with `Accept: text/csv`.
#[utoipa::path(
    get, path = "/v1/customers/me/statement", tag = "customers",
    operation_id = "own_statement",
    params(SpanQuery),
    responses(
        (status = 200, content(
            (StatementDto = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A missing or unknown parameter", body = Problem),
        (status = 422, description = "Times not RFC 3339, `from` not before `to`, a span over 366 days", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn statement(
    State(state): State<AppState>,
    Customer(customer): Customer,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<SpanQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = reports::parse_span(&query.from, &query.to)?;
    let lines = state.services.reports.statement(customer, from, to)?;
    let body = StatementDto {
        from,
        to,
        currency: "BRL",
        trips: lines.into_iter().map(Into::into).collect(),
    };
    Ok(answer(&headers, &body, &body.trips))
}

/// What a rebuild did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RebuildDto {
    /// Events of the log applied again.
    pub replayed_events: u64,
    /// How far back the log reaches (`events.retention_days`): figures of money and trips
    /// older than that are gone after a rebuild.
    pub retention_days: u32,
}

/// Clears the reports' projections and applies the event log to them again (admin): for a
/// projection whose rules changed, or one suspected wrong. The log keeps
/// `events.retention_days`, so the figures afterwards cover that span only; appends wait
/// while it runs.
#[utoipa::path(
    post, path = "/v1/reports/rebuild", tag = "reports",
    operation_id = "rebuild_reports",
    responses(
        (status = 200, body = RebuildDto),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn rebuild(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<ApiJson<RebuildDto>, ApiError> {
    let replayed_events = state.services.reports.rebuild().await?;
    Ok(ApiJson(RebuildDto {
        replayed_events,
        retention_days: state.config.events.retention_days,
    }))
}
