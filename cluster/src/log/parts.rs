//! Entries larger than one NATS message travel as a group of parts.
//!
//! A group's parts are consecutive in the stream (the writer appends them one after another,
//! each expecting the previous one's sequence). A writer fenced or killed mid-group leaves an
//! incomplete group behind, which every reader discards: the entry was never acknowledged.

use async_nats::HeaderMap;

use crate::error::ClusterError;

/// The group's id: the stream sequence of its first part.
pub(crate) const GROUP: &str = "Evr-Group";
/// The part's index in its group, from 0.
pub(crate) const PART: &str = "Evr-Part";
/// How many parts the group has.
pub(crate) const PARTS: &str = "Evr-Parts";

/// Room kept in each message for headers (the expected sequence, the message id, the group's
/// three): the server's `max_payload` counts them too.
pub(crate) const HEADER_ROOM: usize = 1024;

/// A part's place in its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) group: u64,
    pub(crate) index: u32,
    pub(crate) count: u32,
}

impl Part {
    pub(crate) fn write(self, headers: &mut HeaderMap) {
        headers.insert(GROUP, self.group.to_string().as_str());
        headers.insert(PART, self.index.to_string().as_str());
        headers.insert(PARTS, self.count.to_string().as_str());
    }

    /// The part headers of a message, `None` for a whole entry.
    pub(crate) fn read(
        sequence: u64,
        headers: Option<&HeaderMap>,
    ) -> Result<Option<Part>, ClusterError> {
        let Some(headers) = headers else {
            return Ok(None);
        };
        let Some(group) = headers.get(GROUP) else {
            return Ok(None);
        };
        let number = |value: Option<&async_nats::HeaderValue>, reason| {
            value
                .and_then(|value| value.as_str().parse::<u64>().ok())
                .ok_or(ClusterError::Malformed { sequence, reason })
        };
        let group = number(Some(group), "a bad Evr-Group")?;
        let index = number(headers.get(PART), "a missing or bad Evr-Part")?;
        let count = number(headers.get(PARTS), "a missing or bad Evr-Parts")?;
        let (Ok(index), Ok(count)) = (u32::try_from(index), u32::try_from(count)) else {
            return Err(ClusterError::Malformed {
                sequence,
                reason: "a part number out of range",
            });
        };
        if index >= count {
            return Err(ClusterError::Malformed {
                sequence,
                reason: "a part index past its count",
            });
        }
        Ok(Some(Part {
            group,
            index,
            count,
        }))
    }
}

/// How many bytes of payload one message may carry, given the server's `max_payload`.
pub(crate) fn part_size(max_payload: usize) -> usize {
    max_payload.saturating_sub(HEADER_ROOM).max(HEADER_ROOM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_reads_back_as_written() {
        let part = Part {
            group: 41,
            index: 2,
            count: 3,
        };
        let mut headers = HeaderMap::new();
        part.write(&mut headers);
        assert_eq!(Part::read(43, Some(&headers)).ok().flatten(), Some(part));
        assert_eq!(Part::read(43, None).ok().flatten(), None);
    }

    #[test]
    fn a_bad_part_is_malformed() {
        let mut headers = HeaderMap::new();
        headers.insert(GROUP, "7");
        headers.insert(PART, "3");
        headers.insert(PARTS, "3");
        assert!(matches!(
            Part::read(9, Some(&headers)),
            Err(ClusterError::Malformed { sequence: 9, .. })
        ));
        headers.insert(PART, "x");
        assert!(Part::read(9, Some(&headers)).is_err());
    }

    #[test]
    fn parts_leave_room_for_headers() {
        assert_eq!(part_size(1024 * 1024), 1024 * 1024 - HEADER_ROOM);
        assert_eq!(part_size(0), HEADER_ROOM);
    }
}
