//! The nudge message: a store id as the body ("store X has changes"), plus
//! headers the worker adds to its retries (attempt and level). Reading a
//! delivery tells a nudge from poison.

use std::time::Duration;

use domain::StoreId;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};

use crate::retry::{ATTEMPT_HEADER, DELAY_HEADER};
use crate::topology::{level_key, long_string};

/// A readable nudge for the store whose queue it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nudge {
    /// Retries of this nudge so far; 0 for a fresh one.
    pub attempt: u32,
}

/// Why a delivery is poison and goes to the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Poison {
    #[error("the body is not UTF-8")]
    NotUtf8,
    #[error("the body {0:?} is not a store id")]
    NotAStoreId(String),
    #[error("the nudge is for store {0}, which this queue does not serve")]
    OtherStore(String),
}

/// Reads a delivery from `store`'s queue.
pub fn read(store: &StoreId, body: &[u8], headers: Option<&FieldTable>) -> Result<Nudge, Poison> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Poison::NotUtf8)?
        .trim();
    let named: StoreId = text
        .parse()
        .map_err(|_| Poison::NotAStoreId(text.chars().take(100).collect()))?;
    if &named != store {
        return Err(Poison::OtherStore(named.to_string()));
    }
    let header = |name: &str| headers.and_then(|h| h.inner().get(name)).and_then(integer);
    Ok(Nudge {
        attempt: header(ATTEMPT_HEADER)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
    })
}

/// Properties of a nudge the worker publishes (scheduler or retry):
/// persistent, and for a retry the attempt number and the level the retry
/// exchange routes on.
pub fn properties(retry: Option<(u32, Duration)>) -> BasicProperties {
    let mut headers = FieldTable::default();
    if let Some((attempt, delay)) = retry {
        headers.insert(
            ATTEMPT_HEADER.into(),
            AMQPValue::LongLongInt(i64::from(attempt)),
        );
        headers.insert(DELAY_HEADER.into(), long_string(&level_key(delay)));
    }
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("text/plain".into())
        .with_headers(headers)
}

/// An integer header, whatever integer type (or decimal string) the
/// publisher chose.
fn integer(value: &AMQPValue) -> Option<i64> {
    match value {
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongString(s) => s.to_string().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StoreId {
        "STORE-001".parse().expect("store id")
    }

    #[test]
    fn a_stores_nudge_is_a_fresh_attempt() {
        assert_eq!(read(&store(), b"STORE-001", None), Ok(Nudge { attempt: 0 }));
    }

    #[test]
    fn a_retry_carries_its_attempt() {
        let props = properties(Some((3, Duration::from_secs(4))));
        assert_eq!(
            read(&store(), b"STORE-001", props.headers().as_ref()),
            Ok(Nudge { attempt: 3 })
        );
    }

    #[test]
    fn headers_of_other_integer_types_are_read() {
        let mut headers = FieldTable::default();
        headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongInt(2));
        assert_eq!(
            read(&store(), b"STORE-001", Some(&headers)).map(|n| n.attempt),
            Ok(2)
        );
    }

    #[test]
    fn garbage_is_poison() {
        assert_eq!(read(&store(), &[0xff, 0xfe], None), Err(Poison::NotUtf8));
        assert!(matches!(
            read(&store(), b"{\"x\":1}", None),
            Err(Poison::NotAStoreId(_))
        ));
    }

    #[test]
    fn a_nudge_for_another_store_is_poison() {
        assert_eq!(
            read(&store(), b"STORE-999", None),
            Err(Poison::OtherStore("STORE-999".into()))
        );
    }
}
