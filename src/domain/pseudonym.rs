//! Keyed pseudonyms: HMAC-SHA256 of a value under a person's own secret key.
//!
//! A record that must never change (the audit chain, whose hashes cover every
//! entry's text) may need to tell one person from another without holding
//! their data. It holds `pseudonym(key, value)` instead: the same person and
//! value give the same pseudonym, so entries can be linked while the key
//! exists; erasure destroys the key, after which nobody can compute the
//! pseudonym of any value again, and the stored text (and the chain) stays as
//! it was.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What every pseudonym starts with, so a reader knows what it is.
pub const PREFIX: &str = "pn1:";

/// The pseudonym of `value` under `key` (any length): `pn1:` and 32 hex digits.
pub fn pseudonym(key: &[u8], value: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(value.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{PREFIX}{}", hex::encode(&tag[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_and_value_link_other_keys_do_not() {
        let a = pseudonym(b"key-a", "+8801712345678");
        assert_eq!(a, pseudonym(b"key-a", "+8801712345678"));
        assert_ne!(a, pseudonym(b"key-b", "+8801712345678"));
        assert_ne!(a, pseudonym(b"key-a", "+8801712345679"));
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 32);
        assert!(!a.contains("1712345678"));
    }
}
