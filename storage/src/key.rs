//! Order-preserving key encoding.
//!
//! Keys are encoded so that the byte order sled sorts by is the natural order of the values:
//! integers big-endian (signed ones with the sign bit flipped), UUIDs as their 16 bytes (v7 ids
//! therefore sort by creation time), timestamps as signed seconds then nanoseconds, and strings
//! with `0x00` escaped as `0x00 0xFF` and terminated by `0x00`, so a string can sit in the middle
//! of a tuple key without one key being mistaken for the prefix of another. Tuples concatenate
//! their parts, so a range or prefix scan over `(vehicle, time)` walks one vehicle in time order.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Why key bytes could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The key ended before a part was complete.
    #[error("key too short: {needed} more bytes needed")]
    Truncated {
        /// How many bytes were missing.
        needed: usize,
    },
    /// Bytes were left after every part was decoded.
    #[error("{0} trailing bytes after the key")]
    Trailing(usize),
    /// A string part is not terminated or not UTF-8, or a timestamp is out of range.
    #[error("malformed key part: {0}")]
    Malformed(&'static str),
}

/// A type usable as a table key or a key prefix.
pub trait Key: Sized {
    /// Appends the order-preserving encoding of `self`.
    fn encode_key(&self, out: &mut Vec<u8>);

    /// Reads one value from the front of `input`, advancing it.
    fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError>;

    /// The encoding of `self` on its own.
    fn to_key_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        self.encode_key(&mut out);
        out
    }

    /// Decodes a whole key, refusing trailing bytes.
    fn from_key_bytes(mut bytes: &[u8]) -> Result<Self, KeyError> {
        let value = Self::decode_key(&mut bytes)?;
        if bytes.is_empty() {
            Ok(value)
        } else {
            Err(KeyError::Trailing(bytes.len()))
        }
    }
}

fn take<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], KeyError> {
    if input.len() < N {
        return Err(KeyError::Truncated {
            needed: N - input.len(),
        });
    }
    let (head, rest) = input.split_at(N);
    *input = rest;
    let mut array = [0u8; N];
    array.copy_from_slice(head);
    Ok(array)
}

macro_rules! unsigned_key {
    ($($ty:ty),*) => {$(
        impl Key for $ty {
            fn encode_key(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError> {
                Ok(<$ty>::from_be_bytes(take(input)?))
            }
        }
    )*};
}
unsigned_key!(u8, u16, u32, u64, u128);

impl Key for i64 {
    fn encode_key(&self, out: &mut Vec<u8>) {
        // Flipping the sign bit maps i64::MIN..=i64::MAX onto 0..=u64::MAX in order.
        out.extend_from_slice(&((*self as u64) ^ (1 << 63)).to_be_bytes());
    }
    fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError> {
        Ok((u64::from_be_bytes(take(input)?) ^ (1 << 63)) as i64)
    }
}

impl Key for Uuid {
    fn encode_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
    fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError> {
        Ok(Uuid::from_bytes(take(input)?))
    }
}

impl Key for DateTime<Utc> {
    fn encode_key(&self, out: &mut Vec<u8>) {
        self.timestamp().encode_key(out);
        self.timestamp_subsec_nanos().encode_key(out);
    }
    fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError> {
        let seconds = i64::decode_key(input)?;
        let nanos = u32::decode_key(input)?;
        DateTime::from_timestamp(seconds, nanos)
            .ok_or(KeyError::Malformed("timestamp out of range"))
    }
}

impl Key for String {
    fn encode_key(&self, out: &mut Vec<u8>) {
        for &byte in self.as_bytes() {
            out.push(byte);
            if byte == 0 {
                out.push(0xFF);
            }
        }
        out.push(0);
    }
    fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError> {
        let mut bytes = Vec::new();
        let mut index = 0;
        loop {
            match input.get(index) {
                None => return Err(KeyError::Malformed("unterminated string")),
                Some(0) if input.get(index + 1) == Some(&0xFF) => {
                    bytes.push(0);
                    index += 2;
                }
                Some(0) => {
                    index += 1;
                    break;
                }
                Some(&byte) => {
                    bytes.push(byte);
                    index += 1;
                }
            }
        }
        *input = &input[index..];
        String::from_utf8(bytes).map_err(|_| KeyError::Malformed("string is not UTF-8"))
    }
}

impl Key for () {
    fn encode_key(&self, _out: &mut Vec<u8>) {}
    fn decode_key(_input: &mut &[u8]) -> Result<Self, KeyError> {
        Ok(())
    }
}

macro_rules! tuple_key {
    ($($name:ident),+) => {
        impl<$($name: Key),+> Key for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode_key(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode_key(out);)+
            }
            fn decode_key(input: &mut &[u8]) -> Result<Self, KeyError> {
                Ok(($($name::decode_key(input)?,)+))
            }
        }
    };
}
tuple_key!(A);
tuple_key!(A, B);
tuple_key!(A, B, C);
tuple_key!(A, B, C, D);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip<K: Key + PartialEq + std::fmt::Debug>(key: K) {
        assert_eq!(K::from_key_bytes(&key.to_key_bytes()).unwrap(), key);
    }

    #[test]
    fn round_trips_each_kind() {
        round_trip(0u64);
        round_trip(u64::MAX);
        round_trip(i64::MIN);
        round_trip(-1i64);
        round_trip(Uuid::now_v7());
        round_trip(String::from("a\0b\0\0"));
        round_trip(DateTime::from_timestamp(-5, 999_999_999).unwrap());
        round_trip((
            Uuid::now_v7(),
            DateTime::from_timestamp(1_700_000_000, 1).unwrap(),
        ));
        round_trip((String::from("x\0"), 3u32, String::new()));
    }

    #[test]
    fn refuses_truncated_trailing_and_malformed_keys() {
        assert_eq!(
            u64::from_key_bytes(&[0, 1]),
            Err(KeyError::Truncated { needed: 6 })
        );
        assert_eq!(u8::from_key_bytes(&[1, 2]), Err(KeyError::Trailing(1)));
        assert!(matches!(
            String::from_key_bytes(b"abc"),
            Err(KeyError::Malformed(_))
        ));
        assert!(matches!(
            String::from_key_bytes(&[0xC3, 0x28, 0]),
            Err(KeyError::Malformed(_))
        ));
    }

    #[test]
    fn a_string_part_is_never_a_prefix_of_a_longer_one() {
        let short = (String::from("ab"), 1u8).to_key_bytes();
        let long = (String::from("abc"), 1u8).to_key_bytes();
        assert!(!long.starts_with(&String::from("ab").to_key_bytes()));
        assert!(short < long);
    }

    proptest! {
        #[test]
        fn signed_order_is_preserved(a: i64, b: i64) {
            prop_assert_eq!(a.cmp(&b), a.to_key_bytes().cmp(&b.to_key_bytes()));
        }

        #[test]
        fn string_order_is_preserved(a: String, b: String) {
            prop_assert_eq!(a.cmp(&b), a.to_key_bytes().cmp(&b.to_key_bytes()));
            prop_assert_eq!(String::from_key_bytes(&a.to_key_bytes()).unwrap(), a);
        }

        #[test]
        fn tuple_order_is_preserved(a: (String, i64), b: (String, i64)) {
            prop_assert_eq!(a.cmp(&b), a.to_key_bytes().cmp(&b.to_key_bytes()));
        }

        #[test]
        fn timestamp_order_is_preserved(a in -10_000_000_000i64..10_000_000_000, an in 0u32..1_000_000_000,
                                        b in -10_000_000_000i64..10_000_000_000, bn in 0u32..1_000_000_000) {
            let a = DateTime::from_timestamp(a, an).unwrap();
            let b = DateTime::from_timestamp(b, bn).unwrap();
            prop_assert_eq!(a.cmp(&b), a.to_key_bytes().cmp(&b.to_key_bytes()));
        }
    }
}
