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

#[cfg(test)]
mod tests {
    use super::*;

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
