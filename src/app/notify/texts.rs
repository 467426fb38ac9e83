//! Every SMS a traveller gets, in Bangla and in English, in one place.
//!
//! Short on purpose: an SMS is billed per segment (70 UCS-2 characters for
//! Bangla, 160 GSM-7 for English; see `domain::sms`), so a one-seat ticket
//! fits in two Bangla segments or one English one. Bangla texts write numbers
//! (train, date, time, taka, order) in Bangla digits; a PNR and a seat label
//! stay in Latin letters and digits, as printed on the ticket, so they can be
//! read out to an inspector or typed into a look-up. Times are Dhaka time.

use chrono::{DateTime, FixedOffset};

use crate::domain::OrderId;
use crate::domain::sms::{Lang, bangla_digits};

/// One ticket of an order, as its SMS names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatLine {
    pub pnr: String,
    /// Coach and seat, e.g. `UMA-12`.
    pub seat: String,
}

/// What a ticket SMS says: one order's tickets on one train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketNotice {
    pub train: u32,
    /// Station names in the message's language.
    pub from: String,
    pub to: String,
    /// Departure from `from`, in Dhaka time.
    pub departs: DateTime<FixedOffset>,
    pub seats: Vec<SeatLine>,
}

/// Every SMS opens with who is writing.
const SENDER_EN: &str = "Bangladesh Railway";
const SENDER_BN: &str = "বাংলাদেশ রেলওয়ে";

/// The tickets of an order: train, journey, departure and each PNR with its seat.
pub fn tickets(lang: Lang, n: &TicketNotice) -> String {
    match lang {
        Lang::En => {
            let seats: Vec<String> = n
                .seats
                .iter()
                .map(|s| format!("PNR {} seat {}", s.pnr, s.seat))
                .collect();
            format!(
                "{SENDER_EN}: train {} {}-{} {}. {}",
                n.train,
                n.from,
                n.to,
                n.departs.format("%d %b %H:%M"),
                seats.join(", ")
            )
        }
        Lang::Bn => {
            let seats: Vec<String> = n
                .seats
                .iter()
                .map(|s| format!("PNR {} আসন {}", s.pnr, s.seat))
                .collect();
            format!(
                "{SENDER_BN}: ট্রেন {} {}-{} {}। {}",
                bangla_digits(&n.train.to_string()),
                n.from,
                n.to,
                bangla_digits(&n.departs.format("%d/%m %H:%M").to_string()),
                seats.join(", ")
            )
        }
    }
}

/// The order's train is late; cancelling now refunds everything.
pub fn delayed(lang: Lang, order: OrderId, minutes: i64) -> String {
    match lang {
        Lang::En => format!(
            "{SENDER_EN}: the train of order {order} is {minutes} min late. Cancel for a full refund if you wish."
        ),
        Lang::Bn => format!(
            "{SENDER_BN}: অর্ডার {} এর ট্রেন {} মিনিট দেরিতে। চাইলে বাতিল করে পুরো টাকা ফেরত নিন।",
            bangla_digits(&order.to_string()),
            bangla_digits(&minutes.to_string())
        ),
    }
}

/// A cancelled order and the money going back.
pub fn refund(lang: Lang, order: OrderId, amount: i64) -> String {
    match lang {
        Lang::En => format!("{SENDER_EN}: order {order} cancelled. Refund Tk {amount}."),
        Lang::Bn => format!(
            "{SENDER_BN}: অর্ডার {} বাতিল। ফেরত {} টাকা।",
            bangla_digits(&order.to_string()),
            bangla_digits(&amount.to_string())
        ),
    }
}

/// An order that did not go through.
pub fn failed(lang: Lang, order: OrderId) -> String {
    match lang {
        Lang::En => {
            format!("{SENDER_EN}: order {order} failed. Nothing was charged; seats released.")
        }
        Lang::Bn => format!(
            "{SENDER_BN}: অর্ডার {} সম্পন্ন হয়নি। কোনো টাকা কাটা হয়নি।",
            bangla_digits(&order.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::sms::{SmsEncoding, segments};
    use chrono::TimeZone;

    fn notice(seats: usize, from: &str, to: &str) -> TicketNotice {
        TicketNotice {
            train: 701,
            from: from.into(),
            to: to.into(),
            departs: crate::domain::time::dhaka()
                .with_ymd_and_hms(2026, 12, 3, 7, 0, 0)
                .unwrap(),
            seats: (0..seats)
                .map(|i| SeatLine {
                    pnr: format!("7KQ2M{i}"),
                    seat: format!("UMA-{}", 12 + i),
                })
                .collect(),
        }
    }

    #[test]
    fn english_tickets_are_gsm7_and_one_segment() {
        let text = tickets(Lang::En, &notice(1, "Dhaka", "Chattogram"));
        assert_eq!(
            text,
            "Bangladesh Railway: train 701 Dhaka-Chattogram 03 Dec 07:00. PNR 7KQ2M0 seat UMA-12"
        );
        assert_eq!(SmsEncoding::of(&text), SmsEncoding::Gsm7);
        assert_eq!(segments(&text), 1);
        // Four seats (the most one buyer may take) still fit in two.
        assert!(segments(&tickets(Lang::En, &notice(4, "Dhaka", "Chattogram"))) <= 2);
    }

    #[test]
    fn bangla_tickets_use_bangla_digits_and_stay_short() {
        let text = tickets(Lang::Bn, &notice(1, "ঢাকা", "চট্টগ্রাম"));
        assert_eq!(
            text,
            "বাংলাদেশ রেলওয়ে: ট্রেন ৭০১ ঢাকা-চট্টগ্রাম ০৩/১২ ০৭:০০। PNR 7KQ2M0 আসন UMA-12"
        );
        assert_eq!(SmsEncoding::of(&text), SmsEncoding::Ucs2);
        assert_eq!(segments(&text), 2);
        assert!(segments(&tickets(Lang::Bn, &notice(4, "ঢাকা", "চট্টগ্রাম"))) <= 4);
    }

    #[test]
    fn refunds_and_failures_fit_one_segment() {
        assert_eq!(
            refund(Lang::Bn, OrderId(42), 450),
            "বাংলাদেশ রেলওয়ে: অর্ডার ৪২ বাতিল। ফেরত ৪৫০ টাকা।"
        );
        assert_eq!(
            refund(Lang::En, OrderId(42), 450),
            "Bangladesh Railway: order 42 cancelled. Refund Tk 450."
        );
        for lang in [Lang::Bn, Lang::En] {
            assert_eq!(segments(&refund(lang, OrderId(123_456), 12_345)), 1);
            assert_eq!(segments(&failed(lang, OrderId(123_456))), 1);
        }
    }
}
