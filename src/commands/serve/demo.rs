//! `serve --demo`: the network, trips and one user per role, so a first run
//! has something to search and buy.

use crate::app::identity::{NidInput, Registration};
use crate::app::nid::NidRefusal;
use crate::app::{App, AppError};
use crate::commands::seed::{Bars, print_report};
use crate::domain::Role;

pub const DEMO_PASSWORD: &str = "demo-password";

/// The demo passenger's NID: any NID the mock registry makes up is born on
/// its default date (a real registry would refuse it; the demo then goes on
/// without it).
const DEMO_NID: &str = "5500000000001";

/// Demo users, one per role, all with `DEMO_PASSWORD`.
pub(super) const DEMO_USERS: [(&str, &str, &str, Role); 3] = [
    (
        "Demo Passenger",
        "01700000001",
        "passenger@demo.ticketctl",
        Role::Passenger,
    ),
    (
        "Demo Clerk",
        "01700000002",
        "clerk@demo.ticketctl",
        Role::Clerk,
    ),
    (
        "Demo Admin",
        "01700000003",
        "admin@demo.ticketctl",
        Role::Admin,
    ),
];

pub(super) async fn prepare_demo(app: &App, days: u32) -> anyhow::Result<()> {
    if app.trains().await?.is_empty() {
        eprintln!("demo: seeding the Bangladesh Railway network and {days} days of trips…");
        let report = app.seed(days, &Bars::new()).await?;
        print_report(&report);
    }
    for (name, phone, email, role) in DEMO_USERS {
        let reg = Registration {
            name: name.into(),
            phone: phone.into(),
            email: email.into(),
            password: DEMO_PASSWORD.into(),
            role,
            // Staff need no NID; the passenger does, to buy online.
            nid: (role == Role::Passenger).then(|| NidInput {
                nid: DEMO_NID.into(),
                date_of_birth: crate::outside::nid::DEFAULT_DOB.into(),
            }),
        };
        match app.register(reg.clone()).await {
            Ok(_) | Err(AppError::Conflict(_)) | Err(AppError::Nid(NidRefusal::Taken)) => {}
            Err(AppError::Nid(_) | AppError::Unavailable { .. }) => {
                eprintln!("demo: the NID registry did not verify the demo NID; {phone} has none");
                match app.register(Registration { nid: None, ..reg }).await {
                    Ok(_) | Err(AppError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
