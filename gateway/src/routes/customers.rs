//! Customers: registration, the own profile, erasure, and the admin's view.

use actors::customers::{
    CardInput, Customer as CustomerView, CustomerPatch, CustomerStatus, NewCustomer,
};
use actors::ids::CustomerId;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::paging::{Page, PageQuery};
use crate::auth::{Admin, Customer};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// This resource's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/customers", get(list).post(register))
        .route(
            "/v1/customers/me",
            get(me).patch(update_me).delete(erase_me),
        )
        .route("/v1/customers/me/balance/pay", post(pay_balance))
        .route("/v1/customers/{id}", get(read))
}

/// A card as entered. The number and CVC go to the payment processor and are never stored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardBody {
    /// The card number (spaces allowed).
    pub number: String,
    /// Expiry month, 1 to 12.
    pub exp_month: u32,
    /// Expiry year, four digits.
    pub exp_year: i32,
    /// The security code.
    pub cvc: String,
    /// The name on the card.
    pub holder_name: String,
}

impl From<CardBody> for CardInput {
    fn from(card: CardBody) -> Self {
        CardInput {
            number: card.number,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cvc: card.cvc,
            holder_name: card.holder_name,
        }
    }
}

/// A registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Full name.
    pub name: String,
    /// CPF, with or without punctuation.
    pub cpf: String,
    /// Driving licence (CNH) number.
    pub cnh: String,
    /// E-mail, also the login.
    pub email: String,
    /// Brazilian mobile number.
    pub phone: String,
    /// At least 8 characters, with a letter and a digit.
    pub password: String,
    /// The card rentals are charged to.
    pub card: CardBody,
}

/// The changes a customer may make to their profile; any other field is refused (400).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileChanges {
    /// Full name.
    pub name: Option<String>,
    /// E-mail (also the login).
    pub email: Option<String>,
    /// Mobile number.
    pub phone: Option<String>,
    /// A new card.
    pub card: Option<CardBody>,
    /// A new password.
    pub password: Option<String>,
}

/// The card on file.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardDto {
    /// `visa`, `mastercard`, `amex`, `elo`, `hipercard`, `diners` or `other`.
    pub brand: String,
    /// The last four digits.
    pub last4: String,
    /// Expiry month.
    pub exp_month: u32,
    /// Expiry year.
    pub exp_year: i32,
}

/// A customer. CPF and CNH are masked; after erasure the personal fields are absent.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerDto {
    /// Id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Masked CPF.
    pub cpf: Option<String>,
    /// Masked CNH.
    pub cnh: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Mobile number in E.164.
    pub phone: Option<String>,
    /// The card on file.
    pub card: Option<CardDto>,
    /// `active` or `erased`.
    pub status: &'static str,
    /// What the customer owes from rentals whose cost the card refused beyond the hold, in
    /// centavos. While it is above 0, bookings answer 402 `outstanding-balance`.
    pub outstanding_cents: i64,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// Last changed at.
    pub updated_at: DateTime<Utc>,
}

impl From<CustomerView> for CustomerDto {
    fn from(customer: CustomerView) -> Self {
        CustomerDto {
            id: customer.id.to_string(),
            name: customer.name,
            cpf: customer.cpf,
            cnh: customer.cnh,
            email: customer.email,
            phone: customer.phone,
            card: customer.card.map(|card| CardDto {
                brand: card.brand,
                last4: card.last4,
                exp_month: card.exp_month,
                exp_year: card.exp_year,
            }),
            status: match customer.status {
                CustomerStatus::Active => "active",
                CustomerStatus::Erased => "erased",
            },
            outstanding_cents: customer.outstanding_cents,
            created_at: customer.created_at,
            updated_at: customer.updated_at,
        }
    }
}

/// Register.
#[utoipa::path(
    post, path = "/v1/customers", tag = "customers",
    request_body = Registration,
    responses(
        (status = 201, description = "Registered", body = CustomerDto),
        (status = 400, description = "Malformed body or unknown field", body = Problem),
        (status = 409, description = "CPF or e-mail already registered", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid fields, each listed in `errors`", body = Problem),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Registration>,
) -> Result<(StatusCode, ApiJson<CustomerDto>), ApiError> {
    let input = NewCustomer {
        name: body.name,
        cpf: body.cpf,
        cnh: body.cnh,
        email: body.email,
        phone: body.phone,
        password: body.password,
        card: body.card.into(),
    };
    let customer = state.services.customers.register(input).await?;
    Ok((StatusCode::CREATED, ApiJson(customer.into())))
}

/// The caller's own profile.
#[utoipa::path(
    get, path = "/v1/customers/me", tag = "customers",
    responses(
        (status = 200, body = CustomerDto),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not a customer token", body = Problem),
        (status = 404, description = "The account was erased", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn me(
    State(state): State<AppState>,
    Customer(id): Customer,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(state.services.customers.get(id).await?.into()))
}

/// Change the caller's profile.
#[utoipa::path(
    patch, path = "/v1/customers/me", tag = "customers",
    request_body = ProfileChanges,
    responses(
        (status = 200, body = CustomerDto),
        (status = 400, description = "Malformed body or a field that cannot be changed", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not a customer token", body = Problem),
        (status = 404, description = "The account was erased", body = Problem),
        (status = 409, description = "E-mail already registered", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update_me(
    State(state): State<AppState>,
    Customer(id): Customer,
    ApiJson(changes): ApiJson<ProfileChanges>,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    let patch = CustomerPatch {
        name: changes.name,
        email: changes.email,
        phone: changes.phone,
        card: changes.card.map(CardInput::from),
        password: changes.password,
    };
    Ok(ApiJson(
        state.services.customers.update(id, patch).await?.into(),
    ))
}

/// Pay the outstanding balance: the card on file is charged for what it refused earlier
/// (update the card first if it keeps refusing).
#[utoipa::path(
    post, path = "/v1/customers/me/balance/pay", tag = "customers",
    responses(
        (status = 200, description = "Paid; the profile with `outstanding_cents` 0", body = CustomerDto),
        (status = 401, description = "No valid token", body = Problem),
        (status = 402, description = "The card refused again (`outstanding-balance`)", body = Problem),
        (status = 403, description = "Not a customer token", body = Problem),
        (status = 404, description = "The account was erased", body = Problem),
        (status = 409, description = "Something is owed and there is no card on file (`no-card`)", body = Problem),
        (status = 503, description = "The payment provider is not available", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn pay_balance(
    State(state): State<AppState>,
    Customer(id): Customer,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(
        state.services.customers.pay_outstanding(id).await?.into(),
    ))
}

/// Erase the caller's personal data (LGPD). The account cannot be used afterwards.
#[utoipa::path(
    delete, path = "/v1/customers/me", tag = "customers",
    responses(
        (status = 200, description = "Erased; the remaining record", body = CustomerDto),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not a customer token", body = Problem),
        (status = 404, description = "The account was already erased", body = Problem),
        (status = 409, description = "A reservation is still open", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn erase_me(
    State(state): State<AppState>,
    Customer(id): Customer,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(state.services.customers.erase(id).await?.into()))
}

/// Every customer (admin).
#[utoipa::path(
    get, path = "/v1/customers", tag = "customers",
    params(PageQuery),
    responses(
        (status = 200, body = Page<CustomerDto>),
        (status = 400, description = "Bad limit or cursor", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<ApiJson<Page<CustomerDto>>, ApiError> {
    let page = state
        .services
        .customers
        .list(query.limit()?, query.cursor::<CustomerId>()?)
        .await?;
    let items = page.items.into_iter().map(CustomerDto::from).collect();
    Ok(ApiJson(Page::new(items, page.next_cursor)))
}

/// One customer (admin).
#[utoipa::path(
    get, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, body = CustomerDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such customer", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn read(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(state.services.customers.get(id).await?.into()))
}

/// The OpenAPI part of these routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(register, me, update_me, erase_me, pay_balance, list, read),
    components(schemas(Registration, CardBody, ProfileChanges, CustomerDto, CardDto, Page<CustomerDto>))
)]
pub struct CustomersApi;
