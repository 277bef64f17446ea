//! Tokens already verified. A till sends the same token with every request
//! until it expires; checking its Ed25519 signature each time was the
//! largest single cost of a change in the store process (BENCHMARKS.md).
//! The same bytes verify the same way, so a token seen before is answered
//! from here while it has not expired; the cache is emptied whenever the key
//! set changes, so a retired key's tokens go through the full check again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::Claims;

/// Most tokens kept; when full the cache starts over (a few thousand
/// clients at most send tokens to one process).
const CAPACITY: usize = 4096;

/// Claims of tokens whose signature and claims checked out, by token.
#[derive(Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<String, Claims>>,
    /// Moves on with every [`clear`](Self::clear): a check that began
    /// under an older key set must not land in the cache.
    generation: AtomicU64,
}

impl VerifiedTokens {
    /// The claims of `token` if it was verified before and has not expired
    /// by `now` (seconds since the epoch) with `leeway` seconds of skew.
    pub fn get(&self, token: &str, now: i64, leeway: i64) -> Option<Claims> {
        let mut entries = self.entries();
        let claims = entries.get(token)?;
        if claims.exp + leeway < now {
            entries.remove(token);
            return None;
        }
        Some(claims.clone())
    }

    /// The key set's generation, read before a full check.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers a token that passed the full check begun at `generation`,
    /// unless the key set changed since.
    pub fn insert(&self, token: &str, claims: &Claims, generation: u64) {
        let mut entries = self.entries();
        if self.generation() != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_owned(), claims.clone());
    }

    /// Forgets every token (the key set changed).
    pub fn clear(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Claims>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "issuer".into(),
            aud: "audience".into(),
            sub: "till-1".into(),
            role: Role::Pos,
            store_id: None,
            iat: exp - 900,
            exp,
            jti: "token-1".into(),
        }
    }

    #[test]
    fn a_verified_token_is_answered_until_it_expires() {
        let verified = VerifiedTokens::default();
        verified.insert("token", &claims(1_000), verified.generation());
        let exp = |now| verified.get("token", now, 5).map(|claims| claims.exp);
        assert_eq!(exp(1_000), Some(1_000));
        assert_eq!(exp(1_005), Some(1_000), "within the leeway");
        assert_eq!(exp(1_006), None, "expired");
        assert_eq!(exp(1_000), None, "forgotten once expired");
    }

    #[test]
    fn only_the_same_bytes_match_and_a_key_change_forgets_all() {
        let verified = VerifiedTokens::default();
        verified.insert("token", &claims(1_000), verified.generation());
        assert!(verified.get("token.", 0, 5).is_none());
        assert!(verified.get("token", 0, 5).is_some());
        verified.clear();
        assert!(verified.get("token", 0, 5).is_none());
    }

    #[test]
    fn a_check_begun_under_the_old_key_set_is_not_kept() {
        let verified = VerifiedTokens::default();
        let before = verified.generation();
        verified.clear();
        verified.insert("token", &claims(1_000), before);
        assert!(verified.get("token", 0, 5).is_none());
    }
}
