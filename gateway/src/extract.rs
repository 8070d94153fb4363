//! axum's extractors, with their rejections answered as problems like every other error.

use axum::extract::{FromRequest, FromRequestParts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// A JSON body: malformed JSON or unknown fields → 400, wrong content type → 415, too large → 413.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters: an id that is not a UUID → 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters: a value of the wrong type → 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Integer fields of JSON bodies, read as JSON Schema reads them: `5` and `5.0` are the same
/// integer (the document's `type: integer` admits both, and clients such as JavaScript's do not
/// tell them apart); `5.5` is refused like any value of the wrong type (400).
pub mod whole {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, Deserializer, Visitor};

    struct Whole<T>(PhantomData<T>);

    impl<T: TryFrom<i128>> Visitor<'_> for Whole<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer")
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
            T::try_from(i128::from(value)).map_err(|_| E::custom("integer out of range"))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
            T::try_from(i128::from(value)).map_err(|_| E::custom("integer out of range"))
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
            // Beyond 2^63 no f64 fits the fields' types anyway; `as` saturates and is refused.
            if value.fract() != 0.0 || !value.is_finite() {
                return Err(E::invalid_type(de::Unexpected::Float(value), &self));
            }
            T::try_from(value as i128).map_err(|_| E::custom("integer out of range"))
        }
    }

    /// An integer, also written with a zero fraction.
    pub fn integer<'de, D: Deserializer<'de>, T: TryFrom<i128>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        deserializer.deserialize_any(Whole(PhantomData))
    }

    /// An optional integer (`null` or absent is `None`), also written with a zero fraction.
    pub fn optional<'de, D: Deserializer<'de>, T: TryFrom<i128>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        struct Maybe<T>(PhantomData<T>);
        impl<'de, T: TryFrom<i128>> Visitor<'de> for Maybe<T> {
            type Value = Option<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or null")
            }

            fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
                Ok(None)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
                Ok(None)
            }

            fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Option<T>, D::Error> {
                integer(inner).map(Some)
            }
        }
        deserializer.deserialize_option(Maybe(PhantomData))
    }

    #[cfg(test)]
    mod tests {
        #[derive(Debug, serde::Deserialize)]
        struct Body {
            #[serde(deserialize_with = "super::integer")]
            month: u32,
            #[serde(default, deserialize_with = "super::optional")]
            rate: Option<i64>,
        }

        fn parse(json: &str) -> Result<Body, serde_json::Error> {
            serde_json::from_str(json)
        }

        #[test]
        fn integers_may_carry_a_zero_fraction_and_nothing_else() {
            let body = parse(r#"{"month": 12.0, "rate": 65536.0}"#).unwrap();
            assert_eq!((body.month, body.rate), (12, Some(65536)));
            let body = parse(r#"{"month": 1, "rate": null}"#).unwrap();
            assert_eq!((body.month, body.rate), (1, None));
            assert_eq!(parse(r#"{"month": 1}"#).unwrap().rate, None);
            for bad in [
                r#"{"month": 1.5}"#,
                r#"{"month": -1}"#,
                r#"{"month": "1"}"#,
                r#"{"month": 1e30}"#,
                r#"{"month": 1, "rate": 0.5}"#,
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
        }
    }
}
