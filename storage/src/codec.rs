//! The value codec: one bincode configuration for every record in every store.
//!
//! Each encoded value starts with a format byte so that a later layout change can be told
//! apart from corruption and migrated instead of misread. The configuration is fixed
//! (`standard()`: little-endian, variable-length integers); changing it would make every
//! existing store unreadable, so it lives here and nowhere else.
//!
//! Stored types must not use serde attributes that bincode cannot round-trip (`flatten`,
//! `skip_serializing_if`, `tag`, `untagged`): storage structs are kept apart from JSON DTOs.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The format byte written in front of every value by this version of the code.
pub const FORMAT_V1: u8 = 1;

const CONFIG: bincode::config::Configuration = bincode::config::standard();

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The value is empty: not even a format byte.
    #[error("empty value")]
    Empty,
    /// The value was written by a format this code does not know.
    #[error("unknown format byte {0}")]
    UnknownFormat(u8),
    /// bincode could not decode the body.
    #[error("undecodable body: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    /// bincode decoded a value but bytes were left over.
    #[error("{0} trailing bytes after the value")]
    Trailing(usize),
    /// bincode could not encode the value.
    #[error("unencodable value: {0}")]
    Encode(#[from] bincode::error::EncodeError),
}

/// Encodes a value with the format byte in front.
pub fn encode<V: Serialize>(value: &V) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    out.push(FORMAT_V1);
    bincode::serde::encode_into_std_write(value, &mut out, CONFIG)?;
    Ok(out)
}

/// Decodes a value written by [`encode`], refusing unknown formats and trailing bytes.
pub fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, CodecError> {
    let (&format, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if format != FORMAT_V1 {
        return Err(CodecError::UnknownFormat(format));
    }
    let (value, read) = bincode::serde::decode_from_slice(body, CONFIG)?;
    if read != body.len() {
        return Err(CodecError::Trailing(body.len() - read));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        id: u64,
        name: String,
        tags: Vec<String>,
        amount: Option<i64>,
    }

    fn sample() -> Sample {
        Sample {
            id: 7,
            name: "Florianópolis".into(),
            tags: vec!["a".into(), "b".into()],
            amount: Some(-12),
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&sample()).unwrap();
        assert_eq!(bytes[0], FORMAT_V1);
        assert_eq!(decode::<Sample>(&bytes).unwrap(), sample());
    }

    #[test]
    fn rejects_empty_unknown_format_truncation_and_trailing_bytes() {
        assert!(matches!(decode::<Sample>(&[]), Err(CodecError::Empty)));

        let mut bytes = encode(&sample()).unwrap();
        bytes[0] = 9;
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::UnknownFormat(9))
        ));

        let bytes = encode(&sample()).unwrap();
        assert!(matches!(
            decode::<Sample>(&bytes[..bytes.len() - 3]),
            Err(CodecError::Decode(_))
        ));

        let mut bytes = encode(&sample()).unwrap();
        bytes.push(0);
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::Trailing(1))
        ));
    }
}
