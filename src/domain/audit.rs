//! The audit log's hash chain: each entry's hash covers the previous hash and
//! the entry, so changing, removing or reordering any entry breaks every later
//! link, and `ticketctl audit verify` finds the first broken one.

use sha2::{Digest, Sha256};

use super::SubjectId;

/// The hash the chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub fn chain_hash(
    prev_hash: &str,
    at: i64,
    kind: &str,
    subject_id: SubjectId,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    // Length-prefix each field so no two different entries serialise alike.
    for field in [
        prev_hash,
        &at.to_string(),
        kind,
        &subject_id.to_string(),
        detail,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_changes_the_hash() {
        let base = chain_hash(GENESIS, 1, "order.confirmed", SubjectId(7), "{}");
        assert_ne!(
            base,
            chain_hash(GENESIS, 2, "order.confirmed", SubjectId(7), "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, 1, "order.failed", SubjectId(7), "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, 1, "order.confirmed", SubjectId(8), "{}")
        );
        assert_ne!(
            base,
            chain_hash(GENESIS, 1, "order.confirmed", SubjectId(7), "{ }")
        );
        assert_ne!(
            base,
            chain_hash(&base, 1, "order.confirmed", SubjectId(7), "{}")
        );
        // Field boundaries matter: ("ab","c") differs from ("a","bc").
        assert_ne!(
            chain_hash(GENESIS, 1, "ab", SubjectId(1), "c"),
            chain_hash(GENESIS, 1, "a", SubjectId(1), "bc")
        );
    }
}
