//! Every text the web app shows, in English and Bangla. One macro row per
//! message keeps both languages side by side: a message without its Bangla
//! cannot be written.

macro_rules! messages {
    ($($name:ident => $en:literal, $bn:literal;)*) => {
        /// A text of the web app.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Msg { $($name),* }

        impl Msg {
            /// (English, Bangla).
            pub fn texts(self) -> (&'static str, &'static str) {
                match self { $(Msg::$name => ($en, $bn)),* }
            }
        }

        #[cfg(test)]
        pub const ALL: &[Msg] = &[$(Msg::$name),*];
    };
}

messages! {
    AppName => "Bangladesh Railway tickets", "বাংলাদেশ রেলওয়ে টিকিট";
    SwitchLanguage => "বাংলা", "English";
    SkipToContent => "Skip to content", "মূল অংশে যান";
    SearchTitle => "Find a train", "ট্রেন খুঁজুন";
    From => "From", "যাত্রা শুরু";
    To => "To", "গন্তব্য";
    Date => "Date of journey", "যাত্রার তারিখ";
    Search => "Search trains", "ট্রেন খুঁজুন";
    StationHint => "Type a station in English or Bangla", "ইংরেজি বা বাংলায় স্টেশনের নাম লিখুন";
    Results => "Trains", "ট্রেনসমূহ";
    NoTrains => "No train runs between these stations on that day.", "সেদিন এই দুই স্টেশনের মধ্যে কোনো ট্রেন নেই।";
    Departs => "Departs", "ছাড়বে";
    Arrives => "Arrives", "পৌঁছাবে";
    SeatsFree => "seats free", "আসন খালি";
    Choose => "Choose seats", "আসন বাছুন";
    SaleNotOpen => "Sale opens", "বিক্রি শুরু";
    Hours => "h", "ঘ";
    Minutes => "min", "মি";
    FilterByClass => "Filter by class", "শ্রেণি অনুযায়ী বাছাই";
    FilterByTrain => "Filter by train", "ট্রেন অনুযায়ী বাছাই";
    Filter => "Apply", "প্রয়োগ করুন";
    SignIn => "Sign in", "সাইন ইন";
    SignOut => "Sign out", "সাইন আউট";
    Register => "Register", "নিবন্ধন";
    MyTrips => "My trips", "আমার যাত্রা";
    Login => "Mobile number or e-mail", "মোবাইল নম্বর বা ই-মেইল";
    Password => "Password", "পাসওয়ার্ড";
    Totp => "Authenticator code (if two-factor is on)", "অথেনটিকেটর কোড (দ্বি-স্তর চালু থাকলে)";
    BadLogin => "The mobile number, e-mail or password is not right.", "মোবাইল নম্বর, ই-মেইল বা পাসওয়ার্ড সঠিক নয়।";
    NeedTotp => "Enter the code from your authenticator app.", "অথেনটিকেটর অ্যাপের কোডটি দিন।";
    Name => "Full name", "পূর্ণ নাম";
    Phone => "Mobile number", "মোবাইল নম্বর";
    Email => "E-mail", "ই-মেইল";
    Nid => "National ID number", "জাতীয় পরিচয়পত্র নম্বর";
    Dob => "Date of birth", "জন্ম তারিখ";
    Registered => "Registered. Sign in to continue.", "নিবন্ধন হয়েছে। চালিয়ে যেতে সাইন ইন করুন।";
    NoAccount => "New here?", "নতুন ব্যবহারকারী?";
    SeatMap => "Seat map", "আসন বিন্যাস";
    Coach => "Coach", "বগি";
    PickSeats => "Pick up to 4 seats, or let us choose the best ones.", "সর্বোচ্চ ৪টি আসন বাছুন, অথবা সেরা আসন আমরা বেছে দিই।";
    HoldPicked => "Hold the seats I picked", "বাছাই করা আসন রাখুন";
    BestSeats => "Best seats for me", "আমার জন্য সেরা আসন";
    HowMany => "How many seats", "কয়টি আসন";
    Taken => "taken", "বিক্রি/সংরক্ষিত";
    Held => "Your seats are held", "আপনার আসন রাখা হয়েছে";
    HoldExpires => "Held until", "রাখা থাকবে";
    TimeLeft => "Time left", "বাকি সময়";
    Seat => "Seat", "আসন";
    Passengers => "Passengers", "যাত্রী";
    PassengerName => "Passenger name", "যাত্রীর নাম";
    Total => "Total", "মোট";
    Payment => "Payment", "পরিশোধ";
    CardNumber => "Card number", "কার্ড নম্বর";
    CardExpiry => "Expiry (MM/YY)", "মেয়াদ (মাস/বছর)";
    CardCvc => "Security code", "নিরাপত্তা কোড";
    CardNote => "Your card goes straight to the card gateway; this site never sees its number.", "আপনার কার্ডের তথ্য সরাসরি কার্ড গেটওয়েতে যায়; এই সাইট নম্বরটি দেখে না।";
    NeedsScript => "Card payment needs JavaScript switched on in this browser.", "কার্ডে পরিশোধ করতে ব্রাউজারে জাভাস্ক্রিপ্ট চালু রাখুন।";
    Pay => "Pay", "পরিশোধ করুন";
    ReleaseHold => "Release the seats", "আসন ছেড়ে দিন";
    Declined => "The card was declined and nothing was charged. Your seats were released; search again to try another card.", "কার্ডটি গ্রহণ করা হয়নি, কোনো টাকা কাটা হয়নি। আসনগুলো ছেড়ে দেওয়া হয়েছে; অন্য কার্ড দিয়ে আবার চেষ্টা করুন।";
    Confirmed => "Your tickets are confirmed", "আপনার টিকিট নিশ্চিত হয়েছে";
    Order => "Order", "অর্ডার";
    Status => "Status", "অবস্থা";
    Ticket => "Ticket", "টিকিট";
    Print => "Print tickets", "টিকিট প্রিন্ট করুন";
    Pnr => "PNR", "পিএনআর";
    TicketsComing => "Your tickets are being issued; this page refreshes.", "টিকিট তৈরি হচ্ছে; পাতাটি নিজে থেকে হালনাগাদ হবে।";
    NoTrips => "You have no trips yet.", "আপনার কোনো যাত্রা নেই।";
    Cancel => "Cancel this order", "অর্ডার বাতিল করুন";
    CancelTitle => "Cancel the order?", "অর্ডার বাতিল করবেন?";
    RefundQuote => "You will get back", "আপনি ফেরত পাবেন";
    ConfirmCancel => "Yes, cancel and refund", "হ্যাঁ, বাতিল করে টাকা ফেরত দিন";
    KeepOrder => "No, keep it", "না, রেখে দিন";
    Refunded => "Refunded", "ফেরত দেওয়া হয়েছে";
    View => "View", "দেখুন";
    WaitingRoom => "Waiting room", "অপেক্ষা কক্ষ";
    WaitingIntro => "Many people are buying now. Keep this page open: you will go through in turn.", "এখন অনেকে টিকিট কিনছেন। পাতাটি খোলা রাখুন: ক্রমানুসারে আপনার পালা আসবে।";
    Position => "Your place in line", "লাইনে আপনার অবস্থান";
    EstimatedWait => "Estimated wait", "আনুমানিক অপেক্ষা";
    Seconds => "s", "সে";
    OpensAt => "The sale opens at", "বিক্রি শুরু হবে";
    CheckAgain => "Check my place", "আমার অবস্থান দেখুন";
    Error => "Something went wrong", "কিছু একটা ভুল হয়েছে";
    BackToSearch => "Back to search", "অনুসন্ধানে ফিরে যান";
    FormExpired => "The form was out of date; please try again.", "ফর্মটি পুরোনো হয়ে গেছে; আবার চেষ্টা করুন।";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_both_languages() {
        for m in ALL {
            let (en, bn) = m.texts();
            assert!(!en.is_empty() && !bn.is_empty(), "{m:?}");
        }
    }
}
