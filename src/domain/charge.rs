//! Charges: the card gateway's (or the cash drawer's) record of money taken
//! for an order, and what its outcome means.

use super::status::status_enum;

status_enum!(
    /// What the gateway did with a charge.
    ChargeStatus, "a charge status" {
        /// The money was taken (refunds may have given some back since).
        Succeeded => "succeeded",
        /// The card was declined.
        Declined => "declined",
        /// The card was declined for want of funds.
        DeclinedFunds => "declined_funds",
    }
);

impl ChargeStatus {
    /// Why a declined charge was declined, in the words the passenger sees.
    pub fn decline_reason(self) -> Option<&'static str> {
        match self {
            ChargeStatus::Succeeded => None,
            ChargeStatus::Declined => Some("card declined"),
            ChargeStatus::DeclinedFunds => Some("insufficient funds"),
        }
    }
}

/// The gateway's own record of one charge, kept under our idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    pub idempotency_key: String,
    pub charge_id: String,
    pub token: String,
    pub amount: i64,
    pub status: ChargeStatus,
    /// Refunded so far (never more than `amount`).
    pub refunded: i64,
}

impl Charge {
    /// The money this charge took and still keeps (nothing unless it succeeded).
    pub fn kept(&self) -> i64 {
        match self.status {
            ChargeStatus::Succeeded => self.amount - self.refunded,
            _ => 0,
        }
    }

    /// Whether the gateway must still give money back for its refunded total
    /// to reach `owed`.
    pub fn owes_refund(&self, owed: i64) -> bool {
        self.status == ChargeStatus::Succeeded && self.refunded < owed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(status: ChargeStatus, refunded: i64) -> Charge {
        Charge {
            idempotency_key: "order-1".into(),
            charge_id: "ch_1".into(),
            token: "tok".into(),
            amount: 450,
            status,
            refunded,
        }
    }

    #[test]
    fn a_charge_keeps_what_it_took_less_refunds_and_owes_up_to_the_owed_total() {
        assert_eq!(charge(ChargeStatus::Succeeded, 100).kept(), 350);
        assert_eq!(charge(ChargeStatus::Declined, 0).kept(), 0);
        assert!(charge(ChargeStatus::Succeeded, 100).owes_refund(450));
        assert!(!charge(ChargeStatus::Succeeded, 450).owes_refund(450));
        assert!(!charge(ChargeStatus::DeclinedFunds, 0).owes_refund(450));
    }

    #[test]
    fn statuses_read_back_from_their_words_and_say_why_they_declined() {
        for s in ChargeStatus::ALL {
            assert_eq!(s.as_str().parse::<ChargeStatus>(), Ok(*s));
        }
        assert_eq!(ChargeStatus::DeclinedFunds.as_str(), "declined_funds");
        assert_eq!(ChargeStatus::Succeeded.decline_reason(), None);
        assert_eq!(
            ChargeStatus::Declined.decline_reason(),
            Some("card declined")
        );
        assert_eq!(
            ChargeStatus::DeclinedFunds.decline_reason(),
            Some("insufficient funds")
        );
        assert!("refunded".parse::<ChargeStatus>().is_err());
    }
}
