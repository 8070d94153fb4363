//! Access tokens: HS256 JWTs with the algorithm pinned and `iss`, `aud` and `exp` checked.

use actors::customers::{Principal, Role};
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

const ISSUER: &str = "ev-rental";
const AUDIENCE: &str = "ev-rental-api";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: uuid::Uuid,
    role: Role,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    /// The login session (refresh family) the token was issued in: a password change ends
    /// every session but this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<uuid::Uuid>,
    /// Good only for setting up two-factor authentication (an administrator who must have it
    /// and has not yet): every other route refuses the token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    totp_setup: bool,
}

/// Signs and checks access tokens.
pub struct AuthKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Lifetime of an access token.
    pub access_ttl: TimeDelta,
    /// Lifetime of a refresh token.
    pub refresh_ttl: TimeDelta,
}

/// A signed access token and when it expires. No `Debug`: the token is a credential.
#[derive(Clone)]
pub struct AccessToken {
    /// The JWT.
    pub token: String,
    /// Seconds it stays valid.
    pub expires_in: i64,
}

impl AuthKeys {
    /// Keys for `secret`.
    pub fn new(secret: &[u8], access_ttl: TimeDelta, refresh_ttl: TimeDelta) -> Self {
        // Only HS256 is accepted: a token naming another algorithm (or `none`) is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        AuthKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            refresh_ttl,
        }
    }

    /// A new access token for `principal` in the login session `session`, valid from `now`.
    pub fn issue(
        &self,
        principal: Principal,
        session: Option<uuid::Uuid>,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, ApiError> {
        self.sign(principal, session, false, now)
    }

    /// A token good only for `POST /v1/auth/totp/setup` and `/confirm`, for an administrator
    /// whose password was right but who must set up two-factor authentication first.
    pub fn issue_setup(
        &self,
        principal: Principal,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, ApiError> {
        self.sign(principal, None, true, now)
    }

    fn sign(
        &self,
        principal: Principal,
        session: Option<uuid::Uuid>,
        totp_setup: bool,
        now: DateTime<Utc>,
    ) -> Result<AccessToken, ApiError> {
        let claims = Claims {
            totp_setup,
            sid: session,
            sub: principal.subject,
            role: principal.role,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: (now + self.access_ttl).timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| ApiError::internal(&error))?;
        Ok(AccessToken {
            token,
            expires_in: self.access_ttl.num_seconds(),
        })
    }

    /// The principal of a valid token; anything else is 401.
    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        self.verify_session(token).map(|(principal, _)| principal)
    }

    /// The principal of a valid token and the login session it was issued in. A setup-only
    /// token is refused here: it opens the two-factor setup routes alone.
    pub fn verify_session(&self, token: &str) -> Result<(Principal, Option<uuid::Uuid>), ApiError> {
        let claims = self.decode(token)?;
        if claims.totp_setup {
            return Err(ApiError::unauthorized(
                "this token only sets up two-factor authentication; log in with a code afterwards",
            ));
        }
        let principal = Principal {
            subject: claims.sub,
            role: claims.role,
        };
        Ok((principal, claims.sid))
    }

    /// The principal of a valid token, setup-only tokens included.
    pub fn verify_for_setup(&self, token: &str) -> Result<Principal, ApiError> {
        let claims = self.decode(token)?;
        Ok(Principal {
            subject: claims.sub,
            role: claims.role,
        })
    }

    fn decode(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| {
                ApiError::unauthorized("the access token is missing, malformed or expired")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AuthKeys {
        AuthKeys::new(
            b"test secret of enough length",
            TimeDelta::minutes(15),
            TimeDelta::days(30),
        )
    }

    fn admin() -> Principal {
        Principal {
            subject: uuid::Uuid::now_v7(),
            role: Role::Admin,
        }
    }

    #[test]
    fn a_token_verifies_and_carries_its_role() {
        let keys = keys();
        let token = keys.issue(admin(), None, Utc::now()).unwrap();
        assert_eq!(token.expires_in, 900);
        assert_eq!(keys.verify(&token.token).unwrap().role, Role::Admin);
    }

    #[test]
    fn expired_foreign_and_tampered_tokens_are_refused() {
        let keys = keys();
        let old = keys
            .issue(admin(), None, Utc::now() - TimeDelta::minutes(20))
            .unwrap();
        assert!(keys.verify(&old.token).is_err(), "expired");

        let other = AuthKeys::new(
            b"another secret entirely",
            TimeDelta::minutes(15),
            TimeDelta::days(1),
        );
        let foreign = other.issue(admin(), None, Utc::now()).unwrap();
        assert!(
            keys.verify(&foreign.token).is_err(),
            "signed with another key"
        );

        let mut tampered = keys.issue(admin(), None, Utc::now()).unwrap().token;
        tampered.insert(tampered.len() / 2, 'x');
        assert!(keys.verify(&tampered).is_err());

        // A setup-only token opens nothing else.
        let setup = keys.issue_setup(admin(), Utc::now()).unwrap();
        assert!(keys.verify(&setup.token).is_err());
        assert_eq!(
            keys.verify_for_setup(&setup.token).unwrap().role,
            Role::Admin
        );

        // An unsigned token naming `none` is refused.
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let payload = tampered.split('.').nth(1).unwrap();
        assert!(keys.verify(&format!("{header}.{payload}.")).is_err());
    }
}
