//! The HTTP client of Mercado Pago's API: the access token, the idempotency key, the timeout,
//! and what a failed call means for the port.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::super::provider::PaymentError;
use crate::error_kind::{ErrorKind, Kinded};

/// Why a call to Mercado Pago did not give an answer to read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// No answer within the provider timeout.
    #[error("Mercado Pago did not answer in time")]
    Timeout,
    /// The connection failed (refused, reset, TLS).
    #[error("Mercado Pago could not be reached")]
    Transport(#[source] reqwest::Error),
    /// Mercado Pago answered with an error status.
    #[error("Mercado Pago answered {status}: {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// Mercado Pago's `message` (or the start of the body).
        message: String,
    },
    /// The answer was not what the API reference documents.
    #[error("Mercado Pago's answer could not be read: {0}")]
    Decode(String),
}

impl Kinded for ClientError {
    fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Status { status: 404, .. } => ErrorKind::PaymentDeclined,
            ClientError::Status { status, .. } if (400..500).contains(status) && *status != 429 => {
                ErrorKind::Invalid
            }
            _ => ErrorKind::PaymentProvider,
        }
    }
}

impl From<ClientError> for PaymentError {
    /// A refusal of the request itself (400, 409, 422) is not worth retrying; an unknown
    /// payment, customer, card or token (404) is an unknown reference; everything else (no
    /// answer, 5xx, 429, and 401/403, a credential problem an operator must fix) is the
    /// provider being unavailable, which the caller retries with the same key.
    fn from(error: ClientError) -> PaymentError {
        match error {
            ClientError::Status { status: 404, .. } => PaymentError::UnknownToken,
            ClientError::Status { status, message }
                if (400..500).contains(&status) && ![401, 403, 429].contains(&status) =>
            {
                PaymentError::InvalidRequest { reason: message }
            }
            other => PaymentError::Unavailable(other.to_string()),
        }
    }
}

/// A client of one Mercado Pago account.
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    access_token: String,
}

impl Client {
    /// A client of the API at `base` (`https://api.mercadopago.com`, or a fake's address)
    /// whose every call, connection included, gives up after `timeout`.
    pub(crate) fn new(
        base: &str,
        access_token: &str,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(ClientError::Transport)?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            access_token: access_token.to_owned(),
        })
    }

    /// Calls `method path` with a JSON `body` and reads the answer. Writes carry
    /// `X-Idempotency-Key`: Mercado Pago answers a repeated key with the first call's result
    /// without acting again, which is what makes a retry after a timeout safe.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.access_token);
        if let Some(key) = idempotency_key {
            request = request.header("X-Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            return Err(ClientError::Status {
                status: status.as_u16(),
                message: error_message(status, &bytes),
            });
        }
        serde_json::from_slice(&bytes).map_err(|error| ClientError::Decode(error.to_string()))
    }
}

fn transport(error: reqwest::Error) -> ClientError {
    if error.is_timeout() {
        ClientError::Timeout
    } else {
        ClientError::Transport(error)
    }
}

/// The `message` of Mercado Pago's error body (`{"message", "error", "status", "cause"}`), or
/// the start of whatever else came.
fn error_message(status: StatusCode, body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|value| value.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(200).collect();
            if text.trim().is_empty() {
                status.to_string()
            } else {
                text
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> PaymentError {
        ClientError::Status {
            status,
            message: "m".into(),
        }
        .into()
    }

    #[test]
    fn statuses_map_onto_the_port() {
        assert_eq!(status(404), PaymentError::UnknownToken);
        assert!(matches!(status(400), PaymentError::InvalidRequest { .. }));
        for unavailable in [401, 429, 500, 502, 503] {
            assert!(
                matches!(status(unavailable), PaymentError::Unavailable(_)),
                "{unavailable}"
            );
        }
        assert!(matches!(
            PaymentError::from(ClientError::Timeout),
            PaymentError::Unavailable(_)
        ));
    }

    #[test]
    fn the_error_message_is_mercado_pagos_or_the_body() {
        let body =
            br#"{"message":"invalid transaction_amount","error":"bad_request","status":400}"#;
        assert_eq!(
            error_message(StatusCode::BAD_REQUEST, body),
            "invalid transaction_amount"
        );
        assert_eq!(error_message(StatusCode::BAD_GATEWAY, b"<html>"), "<html>");
        assert_eq!(
            error_message(StatusCode::BAD_GATEWAY, b""),
            "502 Bad Gateway"
        );
    }
}
