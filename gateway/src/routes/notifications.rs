//! `GET /v1/notifications` and `POST /v1/notifications/{id}/retry`: what operators need of the
//! outgoing messages, the ones given up after their last attempt (and those still waiting),
//! and a way to send a given-up one again once its cause is fixed.

use actors::notifications::{Channel, Message, MessageState, NotificationsError, Payload};
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::paging::{Page, PageQuery};
use crate::auth::Admin;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(retry_notification))
}

fn service_error(error: NotificationsError) -> ApiError {
    ApiError::from_service(&error)
}

/// The states an operator lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListedStateDto {
    /// Given up after the last attempt: an operator has to look.
    #[default]
    GaveUp,
    /// Waiting for an attempt (a first one, a retry, or a reminder's time).
    Pending,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStateDto {
    /// Waiting for an attempt.
    Pending,
    /// Sent.
    Delivered,
    /// Every attempt failed.
    GaveUp,
    /// Withdrawn before it was sent.
    Cancelled,
}

impl From<MessageState> for NotificationStateDto {
    fn from(state: MessageState) -> Self {
        match state {
            MessageState::Pending => NotificationStateDto::Pending,
            MessageState::Delivered => NotificationStateDto::Delivered,
            MessageState::GaveUp => NotificationStateDto::GaveUp,
            MessageState::Cancelled => NotificationStateDto::Cancelled,
        }
    }
}

/// How a message leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelDto {
    /// An e-mail to a customer.
    Email,
    /// A signed POST to the operators' endpoint.
    Webhook,
}

/// One outgoing message as operators see it (never its body: it may carry a customer's code).
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationDto {
    /// The message (also the `webhook-id` of a webhook, as `msg_` and the id without dashes).
    pub id: Uuid,
    /// E-mail or webhook.
    pub channel: ChannelDto,
    /// Its deduplication key: the id of the event that caused it, or `reminder:` and the
    /// reservation's id.
    pub key: String,
    /// Where it is in its life.
    pub state: NotificationStateDto,
    /// Attempts made since it was queued or last put back.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it is due (pending), or when its last attempt was due.
    pub due_at: DateTime<Utc>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was sent, given up or withdrawn.
    pub finished_at: Option<DateTime<Utc>>,
    /// The address of an e-mail.
    pub recipient: Option<String>,
    /// The event type of a webhook.
    pub event_type: Option<String>,
}

impl From<Message> for NotificationDto {
    fn from(message: Message) -> Self {
        let channel = match message.channel() {
            Channel::Email => ChannelDto::Email,
            Channel::Webhook => ChannelDto::Webhook,
        };
        let (recipient, event_type) = match &message.payload {
            Payload::Email(email) => (Some(email.to.clone()), None),
            Payload::Webhook { event_type, .. } => (None, Some(event_type.clone())),
        };
        NotificationDto {
            id: message.id,
            channel,
            state: message.state.into(),
            attempts: message.attempts,
            last_error: message.last_error,
            due_at: message.next_attempt_at,
            created_at: message.created_at,
            finished_at: message.finished_at,
            key: message.key,
            recipient,
            event_type,
        }
    }
}

/// Filter and paging of `GET /v1/notifications`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationListQuery {
    /// `gave_up` (the default) or `pending`.
    #[param(inline)]
    pub state: Option<ListedStateDto>,
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[param(format = Uuid)]
    pub cursor: Option<String>,
}

/// Outgoing messages in one state, in the order they were queued (admin): the given-up ones
/// are what an operator must act on (fix the relay or the endpoint, then retry them).
#[utoipa::path(
    get, path = "/v1/notifications", tag = "operations", operation_id = "list_notifications",
    params(NotificationListQuery),
    responses(
        (status = 200, body = Page<NotificationDto>),
        (status = 400, description = "Bad state, limit or cursor, or an unknown parameter", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<NotificationListQuery>,
) -> Result<ApiJson<Page<NotificationDto>>, ApiError> {
    let paging = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, after) = (paging.limit()?, paging.cursor::<Uuid>()?);
    let wanted = match query.state.unwrap_or_default() {
        ListedStateDto::GaveUp => MessageState::GaveUp,
        ListedStateDto::Pending => MessageState::Pending,
    };
    let notifications = state.services.notifications.clone();
    // The list walks the store: off the async workers.
    let page = tokio::task::spawn_blocking(move || notifications.list(wanted, after, limit))
        .await
        .map_err(|error| ApiError::internal(&error))?
        .map_err(service_error)?;
    let items = page.items.into_iter().map(NotificationDto::from).collect();
    Ok(ApiJson(Page::new(items, page.next_cursor)))
}

/// Puts a given-up message back in the queue, due now with a fresh budget of attempts (admin).
#[utoipa::path(
    post, path = "/v1/notifications/{id}/retry", tag = "operations", operation_id = "retry_notification",
    params(("id" = Uuid, Path, description = "Message id")),
    responses(
        (status = 200, description = "Pending again", body = NotificationDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 404, description = "No such message", body = Problem),
        (status = 409, description = "The message is not given up (`invalid-state`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn retry_notification(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<ApiJson<NotificationDto>, ApiError> {
    let message = state
        .services
        .notifications
        .retry(id)
        .await
        .map_err(service_error)?;
    Ok(ApiJson(message.into()))
}
