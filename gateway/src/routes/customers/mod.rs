//! Customers: registration, the own profile, erasure, and the admin's view.

use actors::customers::{CustomerPatch, NewCustomer, PaymentCard};
use actors::ids::CustomerId;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::{Page, PageQuery};

pub mod confirmation;
mod dto;
use crate::auth::{Admin, Customer, CustomerSession};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
pub use dto::*;

/// This resource's routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register, list))
        .routes(routes!(me, update_me, erase_me))
        .routes(routes!(pay_balance))
        .routes(routes!(read))
        .merge(confirmation::router())
}

/// Register.
#[utoipa::path(
    post, path = "/v1/customers", tag = "customers", operation_id = "register_customer",
    request_body = Registration,
    responses(
        (status = 201, description = "Registered; with e-mail confirmation on, `pending_confirmation` until the code e-mailed is confirmed", body = CustomerDto,
            links(("get" = (operation_id = "get_customer", parameters(("id" = "$response.body#/id")))))
        ),
        (status = 400, description = "Malformed body or unknown field", body = Problem),
        (status = 409, description = "CPF or e-mail already registered (`already-registered`)", body = Problem),
        (status = 422, description = "Invalid fields, each listed in `errors`", body = Problem),
    ),
    extensions(("x-rate-limit" = json!("from this address")))
)]
pub async fn register(
    State(state): State<AppState>,
    client: ClientAddr,
    ApiJson(body): ApiJson<Registration>,
) -> Result<(StatusCode, ApiJson<CustomerDto>), ApiError> {
    // Each registration that parses counts, accepted or not: a valid one costs an argon2 hash
    // and a call to the payment provider, and a 409 tells whether a CPF or e-mail is taken.
    if let Err(wait) = state.limits.register_per_ip.check(&client.limit_key()) {
        return Err(ApiError::too_many_requests(wait.as_secs() + 1));
    }
    let input = NewCustomer {
        name: body.name,
        cpf: body.cpf,
        cnh: body.cnh,
        email: body.email,
        phone: body.phone,
        password: body.password,
        card: body.card.into(),
        locale: body.locale,
    };
    let customer = state.services.customers.register(input).await?;
    Ok((StatusCode::CREATED, ApiJson(customer.into())))
}

/// The caller's own profile.
#[utoipa::path(
    get, path = "/v1/customers/me", tag = "customers", operation_id = "get_own_profile",
    responses(
        (status = 200, body = CustomerDto),
        (status = 404, description = "The account was erased", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn me(
    State(state): State<AppState>,
    Customer(id): Customer,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(state.services.customers.get(id).await?.into()))
}

/// Change the caller's profile.
#[utoipa::path(
    patch, path = "/v1/customers/me", tag = "customers", operation_id = "update_own_profile",
    request_body = ProfileChanges,
    responses(
        (status = 200, body = CustomerDto),
        (status = 400, description = "Malformed body or a field that cannot be changed", body = Problem),
        (status = 404, description = "The account was erased", body = Problem),
        (status = 409, description = "E-mail already registered (`already-registered`)", body = Problem),
        (status = 422, description = "Invalid fields, each listed in `errors`", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn update_me(
    State(state): State<AppState>,
    CustomerSession {
        customer: id,
        session,
    }: CustomerSession,
    ApiJson(changes): ApiJson<ProfileChanges>,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    let patch = CustomerPatch {
        current_password: changes.current_password,
        name: changes.name,
        email: changes.email,
        phone: changes.phone,
        card: changes.card.map(PaymentCard::from),
        password: changes.password,
        locale: changes.locale,
    };
    Ok(ApiJson(
        state
            .services
            .customers
            .update(id, patch, session)
            .await?
            .into(),
    ))
}

/// Pay the outstanding balance: the card on file is charged for what it refused earlier
/// (update the card first if it keeps refusing).
#[utoipa::path(
    post, path = "/v1/customers/me/balance/pay", tag = "customers", operation_id = "pay_own_balance",
    responses(
        (status = 200, description = "Paid; the profile with `outstanding_cents` 0", body = CustomerDto),
        (status = 402, description = "The card refused again (`outstanding-balance`)", body = Problem),
        (status = 404, description = "The account was erased", body = Problem),
        (status = 409, description = "Something is owed and there is no card on file (`no-card`)", body = Problem),
        (status = 502, description = "The payment provider failed (`payment-provider`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
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
    delete, path = "/v1/customers/me", tag = "customers", operation_id = "erase_own_profile",
    responses(
        (status = 200, description = "Erased; the remaining record", body = CustomerDto),
        (status = 404, description = "The account was already erased", body = Problem),
        (status = 409, description = "A reservation is still open (`open-reservation`)", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["customer"])))
)]
pub async fn erase_me(
    State(state): State<AppState>,
    Customer(id): Customer,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(
        state.services.reservations.erase_customer(id).await?.into(),
    ))
}

/// Every customer (admin).
#[utoipa::path(
    get, path = "/v1/customers", tag = "customers", operation_id = "list_customers",
    params(PageQuery),
    responses(
        (status = 200, body = Page<CustomerDto>),
        (status = 400, description = "Bad limit or cursor", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
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
    get, path = "/v1/customers/{id}", tag = "customers", operation_id = "get_customer",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, body = CustomerDto),
        (status = 400, description = "Not an id", body = Problem),
        (status = 404, description = "No such customer", body = Problem),
    ),
    security(("bearer" = [])),
    extensions(("x-roles" = json!(["admin"])))
)]
pub async fn read(
    State(state): State<AppState>,
    _admin: Admin,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<ApiJson<CustomerDto>, ApiError> {
    Ok(ApiJson(state.services.customers.get(id).await?.into()))
}
