//! The storage conformance suite: every case runs against SQLite and Postgres
//! with identical assertions, so the two backends cannot drift apart.

use chrono::{Duration, Utc};
use std::sync::Arc;
use ticketctl::domain::*;
use ticketctl::domain::{ChargeStatus, HoldStatus, TicketStatus, TripId};
use ticketctl::store::prelude::*;
use ticketctl::store::*;

fn code(s: &str) -> StationCode {
    StationCode::parse(s).unwrap()
}

fn station(c: &str, name: &str, bn: Option<&str>) -> NewStation {
    NewStation {
        code: code(c),
        name_en: name.into(),
        name_bn: bn.map(Into::into),
        aliases: vec![format!("{name} Junction")],
    }
}

async fn line(store: &Arc<dyn Store>) {
    for s in [
        station("DHK", "Dhaka", Some("ঢাকা")),
        station("FNI", "Feni", None),
        station("CTG", "Chattogram", Some("চট্টগ্রাম")),
    ] {
        store.upsert_station(&s).await.unwrap();
    }
}

fn train(number: u32) -> Train {
    let stop = |c: &str, a: Option<u32>, d: Option<u32>, km| Stop {
        station: code(c),
        arrive: a.map(TripTime::from_minutes),
        depart: d.map(TripTime::from_minutes),
        km,
    };
    Train {
        number,
        name: "Turna".into(),
        name_bn: Some("তূর্ণা".into()),
        runs_on: Weekdays::parse_names(&["Fri", "Sat", "Sun"]).unwrap(),
        // Crosses midnight: Chattogram at minute 1755 (05:15 next day).
        stops: vec![
            stop("DHK", None, Some(1395), 0),
            stop("FNI", Some(1660), Some(1662), 205),
            stop("CTG", Some(1755), None, 321),
        ],
        coaches: vec![
            Coach {
                code: "KA".into(),
                class: SeatClass::ShovanChair,
                seats: 3,
                layout: SeatLayout::parse("2+2").unwrap(),
            },
            Coach {
                code: "KHA".into(),
                class: SeatClass::AcBerth,
                seats: 2,
                layout: SeatLayout::Berths,
            },
        ],
    }
}

fn date(days: i64) -> ServiceDate {
    ServiceDate::today_at(Utc::now()).add_days(days)
}

async fn trip_of(store: &Arc<dyn Store>, number: u32, days: i64) -> Option<TripId> {
    let t = store.train_by_number(number).await.unwrap().unwrap();
    let seats = t
        .train
        .coaches
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            (1..=c.seats).map(move |n| SeatSpec {
                coach_seq: i as u32,
                coach_code: c.code.clone(),
                seat_no: n,
                class: c.class,
            })
        })
        .collect();
    let d = date(days);
    store
        .create_trip(&NewTrip {
            train_id: t.id,
            date: d,
            departs_at: d.at(TripTime::from_minutes(1395)),
            sale_opens_at: Utc::now(),
            seats,
        })
        .await
        .unwrap()
}

async fn user(store: &Arc<dyn Store>, n: u32) -> User {
    store
        .create_user(&NewUser {
            name: format!("U{n}"),
            phone: format!("+88017000000{n:02}"),
            email: format!("u{n}@x.com"),
            password_hash: "h".into(),
            role: Role::Passenger,
            created_at: chrono::Utc::now(),
            nid: None,
        })
        .await
        .unwrap()
}

async fn migrations_are_idempotent(store: Arc<dyn Store>) {
    assert!(store.is_migrated().await.unwrap());
    assert_eq!(store.migrate().await.unwrap(), 0, "nothing left to apply");
    assert_eq!(store.setting_or_init("k", "first").await.unwrap(), "first");
    assert_eq!(
        store.setting_or_init("k", "second").await.unwrap(),
        "first",
        "the first value wins"
    );
}

async fn stations_upsert_and_round_trip(store: Arc<dyn Store>) {
    let s = station("DHK", "Dhaka", Some("ঢাকা"));
    assert_eq!(store.upsert_station(&s).await.unwrap(), Upsert::Inserted);
    assert_eq!(store.upsert_station(&s).await.unwrap(), Upsert::Unchanged);
    let renamed = NewStation {
        aliases: vec!["Kamalapur".into()],
        ..s
    };
    assert_eq!(
        store.upsert_station(&renamed).await.unwrap(),
        Upsert::Updated
    );
    store
        .upsert_station(&station("CTG", "Chattogram", None))
        .await
        .unwrap();
    let all = store.list_stations().await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.code.as_str()).collect::<Vec<_>>(),
        ["CTG", "DHK"],
        "ordered by code"
    );
    assert_eq!(all[1].name_bn.as_deref(), Some("ঢাকা"));
    assert_eq!(all[1].aliases, ["Kamalapur"]);
}

async fn trains_round_trip_exactly(store: Arc<dyn Store>) {
    line(&store).await;
    let t = train(742);
    assert_eq!(store.upsert_train(&t).await.unwrap(), Upsert::Inserted);
    assert_eq!(store.upsert_train(&t).await.unwrap(), Upsert::Unchanged);
    let stored = store.train_by_number(742).await.unwrap().unwrap();
    assert_eq!(
        stored.train, t,
        "stops past midnight, berths and Bangla names survive"
    );
    let mut more = t.clone();
    more.coaches[0].seats = 4;
    assert_eq!(store.upsert_train(&more).await.unwrap(), Upsert::Updated);
    assert!(store.train_by_number(1).await.unwrap().is_none());
    let mut lost = train(743);
    lost.stops[1].station = code("XYZ");
    assert!(matches!(
        store.upsert_train(&lost).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store.train_by_number(743).await.unwrap().is_none(),
        "nothing half-written"
    );
    // Stops cannot change under existing trips (their masks index the stops).
    trip_of(&store, 742, 1).await.unwrap();
    let mut rerouted = more.clone();
    rerouted.stops[1].km = 200;
    assert!(matches!(
        store.upsert_train(&rerouted).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.list_trains().await.unwrap().len(), 1);
}

async fn fares_and_rates(store: Arc<dyn Store>) {
    line(&store).await;
    let fare = |f: &str, t: &str, class, base| FareRow {
        from: code(f),
        to: code(t),
        class,
        fare: Fare {
            base,
            vat: base * 15 / 100,
        },
    };
    let rows = [
        fare("DHK", "CTG", SeatClass::Snigdha, 743),
        fare("DHK", "CTG", SeatClass::AcSeat, 891),
        fare("DHK", "FNI", SeatClass::Snigdha, 500),
    ];
    assert_eq!(store.upsert_fares(&rows).await.unwrap(), 3);
    assert_eq!(
        store.upsert_fares(&rows).await.unwrap(),
        0,
        "unchanged rows are not rewritten"
    );
    assert_eq!(
        store
            .upsert_fares(&[fare("DHK", "CTG", SeatClass::Snigdha, 750)])
            .await
            .unwrap(),
        1
    );
    let between = store
        .fares_between(&code("DHK"), &code("CTG"))
        .await
        .unwrap();
    assert_eq!(between.len(), 2);
    assert!(between.contains(&(
        SeatClass::Snigdha,
        Fare {
            base: 750,
            vat: 112
        }
    )));
    assert!(
        store
            .fares_between(&code("CTG"), &code("DHK"))
            .await
            .unwrap()
            .is_empty(),
        "fares are per direction"
    );
    assert!(matches!(
        store
            .upsert_fares(&[fare("DHK", "XYZ", SeatClass::Snigdha, 1)])
            .await,
        Err(StoreError::NotFound(_))
    ));
    let rate = FareRate {
        per_km: 1.402,
        min: 50,
        vat_percent: 0,
    };
    assert_eq!(
        store
            .upsert_fare_rates(&[(SeatClass::ShovanChair, rate)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .upsert_fare_rates(&[(SeatClass::ShovanChair, rate)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.fare_rates().await.unwrap(),
        vec![(SeatClass::ShovanChair, rate)]
    );
}

async fn trips_seats_and_free_counts(store: Arc<dyn Store>) {
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    store.upsert_train(&train(741)).await.unwrap();
    let later = trip_of(&store, 742, 2).await.unwrap();
    let first = trip_of(&store, 742, 1).await.unwrap();
    let other = trip_of(&store, 741, 1).await.unwrap();
    assert_eq!(
        trip_of(&store, 742, 1).await,
        None,
        "one trip per train and date"
    );
    assert_eq!(
        store.counts().await.unwrap().seats,
        15,
        "a duplicate trip adds no seats"
    );
    let trips = store.trips_between(date(1), date(2)).await.unwrap();
    assert_eq!(
        trips.iter().map(|t| t.id).collect::<Vec<_>>(),
        [other, first, later],
        "by date, time, train number"
    );
    let t = store.trip(first).await.unwrap().unwrap();
    assert_eq!((t.train_number, t.date), (742, date(1)));
    let seats = store.seats(first).await.unwrap();
    assert_eq!(
        seats.iter().map(|s| s.label()).collect::<Vec<_>>(),
        ["KA-1", "KA-2", "KA-3", "KHA-1", "KHA-2"]
    );
    let all = Journey::new(0, 2, 3).unwrap().mask();
    let mut counts = store
        .free_seat_counts(&[(first, all), (other, all)])
        .await
        .unwrap();
    counts.sort_by_key(|c| (c.trip_id, c.class));
    assert_eq!(counts.len(), 4);
    assert!(
        counts
            .iter()
            .all(|c| c.free == if c.class == SeatClass::AcBerth { 2 } else { 3 })
    );
    assert!(store.free_seat_counts(&[]).await.unwrap().is_empty());
}

async fn users_logins_lockout_and_tokens(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    assert_eq!(u.role, Role::Passenger);
    let dup_phone = NewUser {
        name: "X".into(),
        phone: u.phone.clone(),
        email: "other@x.com".into(),
        password_hash: "h".into(),
        role: Role::Passenger,
        created_at: chrono::Utc::now(),
        nid: None,
    };
    assert!(matches!(
        store.create_user(&dup_phone).await,
        Err(StoreError::Conflict(_))
    ));
    let dup_email = NewUser {
        phone: "+8801799999999".into(),
        email: u.email.clone(),
        ..dup_phone
    };
    assert!(matches!(
        store.create_user(&dup_email).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.user_by_login(&u.phone).await.unwrap().unwrap().id,
        u.id
    );
    assert_eq!(
        store.user_by_login(&u.email).await.unwrap().unwrap().id,
        u.id
    );
    assert!(store.user_by_login("nobody").await.unwrap().is_none());
    store.set_role(u.id, Role::Clerk).await.unwrap();
    assert_eq!(store.user(u.id).await.unwrap().unwrap().role, Role::Clerk);
    assert!(matches!(
        store.set_role(UserId(9999), Role::Admin).await,
        Err(StoreError::NotFound(_))
    ));

    // Lockout as the app drives it: each attempt is counted before it is
    // checked; the last failure allowed locks the account and resets the count.
    let now = Utc::now();
    let lock = Duration::minutes(15);
    for _ in 0..3 {
        assert_eq!(
            store
                .reserve_login_attempt(u.id, now, 3, lock)
                .await
                .unwrap(),
            Attempt::Granted
        );
    }
    assert_eq!(
        store
            .reserve_login_attempt(u.id, now, 3, lock)
            .await
            .unwrap(),
        Attempt::Locked { until: now + lock },
        "no attempt is left while three are being checked"
    );
    assert_eq!(store.user(u.id).await.unwrap().unwrap().failed_logins, 3);
    let until = store.lock_if_exhausted(u.id, now, 3, lock).await.unwrap();
    assert_eq!(until.map(|t| t.timestamp()), Some((now + lock).timestamp()));
    let locked = store.user(u.id).await.unwrap().unwrap();
    assert_eq!(locked.failed_logins, 0, "locking resets the counter");
    assert_eq!(
        locked.locked_until.unwrap().timestamp(),
        (now + lock).timestamp()
    );
    store.clear_failed_logins(u.id).await.unwrap();
    assert_eq!(store.user(u.id).await.unwrap().unwrap().locked_until, None);
    store.set_totp(u.id, Some("SECRET"), true).await.unwrap();
    let with_totp = store.user(u.id).await.unwrap().unwrap();
    assert_eq!(
        (with_totp.totp_secret.as_deref(), with_totp.mfa_enabled),
        (Some("SECRET"), true)
    );

    // A refresh token works once: rotating it again is a replay.
    store
        .insert_refresh_token("hash1", u.id, now + Duration::days(1))
        .await
        .unwrap();
    let first = store
        .rotate_refresh_token("hash1", "hash2", now + Duration::days(1), now)
        .await
        .unwrap();
    assert!(
        matches!(first, Rotation::Rotated { user_id, .. } if user_id == u.id),
        "{first:?}"
    );
    let again = store
        .rotate_refresh_token("hash1", "hash3", now + Duration::days(1), now)
        .await
        .unwrap();
    assert!(
        matches!(again, Rotation::Replayed { user_id, .. } if user_id == u.id),
        "refresh tokens work once: {again:?}"
    );
    store
        .insert_refresh_token("old", u.id, now - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .rotate_refresh_token("old", "old2", now + Duration::days(1), now)
            .await
            .unwrap(),
        Rotation::Invalid,
        "expired"
    );
    assert_eq!(store.list_users().await.unwrap().len(), 1);
}

fn new_hold(trip: TripId, user: UserId, from: usize, to: usize, seats: Vec<SeatId>) -> NewHold {
    let now = Utc::now();
    NewHold {
        trip_id: trip,
        user_id: user,
        from_stop: from as u32,
        to_stop: to as u32,
        mask: Journey::new(from, to, 3).unwrap().mask(),
        class: SeatClass::ShovanChair,
        fare: 450,
        seat_ids: seats,
        now,
        expires_at: now + Duration::minutes(10),
        seat_cap: Some(SeatCap::PER_PASSENGER),
    }
}

async fn holds_take_segments_atomically(store: Arc<dyn Store>) {
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    let trip = trip_of(&store, 742, 1).await.unwrap();
    let seats = store.seats(trip).await.unwrap();
    let (a, b) = (user(&store, 1).await, user(&store, 2).await);
    let first = store
        .create_hold(&new_hold(trip, a.id, 0, 1, vec![seats[0].id]))
        .await
        .unwrap();
    assert_eq!(first.seats[0].label(), "KA-1");
    assert_eq!(first.status, HoldStatus::Active);
    // The other half of the same seat is free; the whole journey is not.
    store
        .create_hold(&new_hold(trip, b.id, 1, 2, vec![seats[0].id]))
        .await
        .unwrap();
    let clash = store
        .create_hold(&new_hold(trip, b.id, 0, 2, vec![seats[1].id, seats[0].id]))
        .await;
    assert!(
        matches!(&clash, Err(StoreError::SeatsTaken(lost)) if lost == &vec![seats[0].id]),
        "{clash:?}"
    );
    assert_eq!(
        store.seats(trip).await.unwrap()[1].taken,
        SegmentMask::EMPTY,
        "a failed hold takes nothing"
    );
    // Wrong class (a berth for an S_CHAIR hold) is never taken.
    assert!(matches!(
        store
            .create_hold(&new_hold(trip, b.id, 0, 2, vec![seats[3].id]))
            .await,
        Err(StoreError::SeatsTaken(_))
    ));
    // Per-user limit.
    let mut four = new_hold(trip, a.id, 1, 2, vec![seats[1].id, seats[2].id]);
    four.seat_cap = Some(SeatCap::of(2));
    assert!(matches!(
        store.create_hold(&four).await,
        Err(StoreError::Conflict(m)) if m == "at most 2 seats per passenger per trip; you already have 1"
    ));
    // Release clears exactly its own bits.
    assert!(store.release_hold(first.id, a.id).await.unwrap());
    assert!(
        !store.release_hold(first.id, a.id).await.unwrap(),
        "only once"
    );
    assert_eq!(
        store.seats(trip).await.unwrap()[0].taken,
        Journey::new(1, 2, 3).unwrap().mask()
    );
    // Expiry.
    let mut short = new_hold(trip, a.id, 0, 2, vec![seats[2].id]);
    short.expires_at = short.now - Duration::seconds(1);
    let expired = store.create_hold(&short).await.unwrap();
    assert_eq!(
        store.expire_holds(Utc::now(), 100).await.unwrap(),
        vec![expired.id]
    );
    assert_eq!(
        store.hold(expired.id).await.unwrap().unwrap().status,
        HoldStatus::Expired
    );
    assert_eq!(
        store.seats(trip).await.unwrap()[2].taken,
        SegmentMask::EMPTY
    );
    assert!(
        store
            .expire_holds(Utc::now(), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn orders_idempotency_and_transitions(store: Arc<dyn Store>) {
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    let trip = trip_of(&store, 742, 1).await.unwrap();
    let seats = store.seats(trip).await.unwrap();
    let u = user(&store, 1).await;
    let hold = store
        .create_hold(&new_hold(trip, u.id, 0, 2, vec![seats[0].id, seats[1].id]))
        .await
        .unwrap();
    let new = NewOrder {
        user_id: u.id,
        hold_id: hold.id,
        passengers: vec![
            PassengerInput {
                name: "A".parse().unwrap(),
                nid: Some("1234567890".parse().unwrap()),
            },
            PassengerInput {
                name: "B".parse().unwrap(),
                nid: None,
            },
        ],
        payment_token: "tok".into(),
        idempotency_key: "key-1".into(),
        request_hash: "hash".into(),
        now: Utc::now(),
    };
    let order = store.create_order(&new).await.unwrap();
    assert_eq!(
        (order.status, order.amount, order.passengers.len()),
        (OrderStatus::Reserved, 900, 2)
    );
    assert_eq!(
        order.passengers[0].nid.as_ref().map(Nid::as_str),
        Some("1234567890")
    );
    assert!(
        matches!(store.create_order(&new).await, Err(StoreError::Conflict(_))),
        "a hold is ordered once"
    );
    // Another hold under a key already used: the store says so by kind, so the
    // app can answer as the first request did instead of as a conflict.
    let other_hold = store
        .create_hold(&new_hold(trip, u.id, 0, 2, vec![seats[2].id]))
        .await
        .unwrap();
    let twin = NewOrder {
        hold_id: other_hold.id,
        passengers: vec![PassengerInput {
            name: "C".parse().unwrap(),
            nid: None,
        }],
        ..new.clone()
    };
    assert!(
        matches!(
            store.create_order(&twin).await,
            Err(StoreError::IdempotencyKeyUsed)
        ),
        "a used Idempotency-Key is reported as such"
    );
    assert!(store.release_hold(other_hold.id, u.id).await.unwrap());
    let rec = store.idempotency(u.id, "key-1").await.unwrap().unwrap();
    assert_eq!((rec.order_id, rec.response), (Some(order.id), None));
    let first = RecordedAnswer {
        status: 201,
        body: "{}".into(),
    };
    assert!(
        store
            .finish_idempotency(u.id, "key-1", &first)
            .await
            .unwrap(),
        "the first answer is recorded"
    );
    let second = RecordedAnswer {
        status: 402,
        body: "{\"later\":true}".into(),
    };
    assert!(
        !store
            .finish_idempotency(u.id, "key-1", &second)
            .await
            .unwrap(),
        "a later answer does not replace the first"
    );
    assert_eq!(
        store
            .idempotency(u.id, "key-1")
            .await
            .unwrap()
            .unwrap()
            .answer(),
        Some(first)
    );

    let paid = OrderChange {
        charge_id: Some("ch_1".into()),
        ..Default::default()
    };
    assert!(
        store
            .transition_order(
                order.id,
                OrderStatus::Reserved,
                OrderStatus::Paid,
                &paid,
                Utc::now()
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .transition_order(
                order.id,
                OrderStatus::Reserved,
                OrderStatus::Failed,
                &OrderChange::default(),
                Utc::now()
            )
            .await
            .unwrap(),
        "stale from-state"
    );
    assert!(
        store
            .transition_order(
                order.id,
                OrderStatus::Paid,
                OrderStatus::Confirmed,
                &OrderChange::default(),
                Utc::now()
            )
            .await
            .unwrap()
    );
    let tickets = |seq: u32| NewTicket {
        pnr: format!("PNR{seq}"),
        order_id: order.id,
        passenger_seq: seq,
        seat_id: seats[seq as usize].id,
        payload: "p".into(),
    };
    assert_eq!(
        store
            .issue_tickets(&[tickets(0), tickets(1)], Utc::now())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .issue_tickets(&[tickets(0)], Utc::now())
            .await
            .unwrap(),
        0,
        "one ticket per passenger"
    );
    assert_eq!(
        store.ticket_by_pnr("PNR1").await.unwrap().unwrap().status,
        TicketStatus::Valid
    );
    let ledger = store.ledger().await.unwrap();
    assert_eq!(
        (
            ledger.confirmed_orders,
            ledger.confirmed_passengers,
            ledger.valid_tickets,
            ledger.stray_tickets
        ),
        (1, 2, 2, 0)
    );

    // Cancelling returns the seats and voids the tickets.
    let refund = OrderChange {
        refunded_amount: Some(840),
        ..Default::default()
    };
    assert!(
        store
            .transition_order(
                order.id,
                OrderStatus::Confirmed,
                OrderStatus::Refunded,
                &refund,
                Utc::now()
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .seats(trip)
            .await
            .unwrap()
            .iter()
            .all(|s| s.taken.is_empty())
    );
    assert!(
        store
            .tickets_of_order(order.id)
            .await
            .unwrap()
            .iter()
            .all(|t| t.status == TicketStatus::Cancelled)
    );
    let o = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(
        (o.status, o.refunded_amount, o.charge_id.as_deref()),
        (OrderStatus::Refunded, 840, Some("ch_1"))
    );
    assert_eq!(store.orders_of_user(u.id).await.unwrap().len(), 1);
    let stuck = store
        .orders_stuck(&[OrderStatus::Reserved, OrderStatus::Paid], Utc::now())
        .await
        .unwrap();
    assert!(stuck.is_empty());
}

async fn gateway_ledger_outbox_and_audit(store: Arc<dyn Store>) {
    let u = user(&store, 1).await;
    let token = PaymentToken {
        token: "tok_1".into(),
        user_id: u.id,
        brand: "visa".into(),
        last4: "4242".into(),
        exp_month: 12,
        exp_year: 2031,
    };
    store
        .insert_payment_token(&token, Utc::now())
        .await
        .unwrap();
    assert_eq!(store.payment_token("tok_1").await.unwrap(), Some(token));
    let charge = Charge {
        idempotency_key: "order-1".into(),
        charge_id: "ch_a".into(),
        token: "tok_1".into(),
        amount: 900,
        status: ChargeStatus::Succeeded,
        refunded: 0,
    };
    assert_eq!(
        store
            .cash_record(&charge, Utc::now())
            .await
            .unwrap()
            .charge_id,
        "ch_a"
    );
    let again = Charge {
        charge_id: "ch_b".into(),
        ..charge.clone()
    };
    assert_eq!(
        store
            .cash_record(&again, Utc::now())
            .await
            .unwrap()
            .charge_id,
        "ch_a",
        "one charge per key"
    );
    assert_eq!(store.cash_refund("ch_a", 300).await.unwrap().refunded, 300);
    assert_eq!(
        store.cash_refund("ch_a", 200).await.unwrap().refunded,
        300,
        "never lowered"
    );
    assert_eq!(
        store.cash_refund("ch_a", 5000).await.unwrap().refunded,
        900,
        "never beyond the amount"
    );
    let listed = store.cash_charges().await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0].charge_id.as_str(), listed[0].refunded),
        ("ch_a", 900)
    );

    // Outbox events (from expiring a hold) are delivered per consumer and audited once.
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    let trip = trip_of(&store, 742, 1).await.unwrap();
    let seat = store.seats(trip).await.unwrap()[0].id;
    let mut h = new_hold(trip, u.id, 0, 2, vec![seat]);
    h.expires_at = h.now;
    store.create_hold(&h).await.unwrap();
    store.expire_holds(Utc::now(), 10).await.unwrap();
    let pending = store.outbox_pending(Consumer::Audit, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].kind(), "hold.expired");
    store.audit_append(&pending[0]).await.unwrap();
    store.audit_append(&pending[0]).await.unwrap();
    store
        .outbox_mark(Consumer::Audit, &[pending[0].id], Utc::now())
        .await
        .unwrap();
    assert!(
        store
            .outbox_pending(Consumer::Audit, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .outbox_pending(Consumer::Notification, 10)
            .await
            .unwrap()
            .len(),
        1,
        "consumers are independent"
    );
    let log = store.audit_log().await.unwrap();
    assert_eq!(log.len(), 1, "a redelivered event is logged once");
    assert_eq!(log[0].prev_hash, ticketctl::domain::audit::GENESIS);
    let claims = store.seat_claims(Some(trip)).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].hold_status, HoldStatus::Expired);
}

/// Classes sort by their code, byte-wise ("S_CHAIR" after "SNIGDHA"), whatever
/// the database's collation; free counts come ordered by trip and class too.
async fn class_ordering_is_bytewise(store: Arc<dyn Store>) {
    let classes = [
        SeatClass::ShovanChair,
        SeatClass::Snigdha,
        SeatClass::Shovan,
        SeatClass::AcSeat,
        SeatClass::AcBerth,
        SeatClass::AcChair,
    ];
    let rate = FareRate {
        per_km: 1.0,
        min: 10,
        vat_percent: 0,
    };
    let rates: Vec<_> = classes.iter().map(|c| (*c, rate)).collect();
    assert_eq!(store.upsert_fare_rates(&rates).await.unwrap(), 6);
    let codes: Vec<_> = store
        .fare_rates()
        .await
        .unwrap()
        .iter()
        .map(|(c, _)| c.code())
        .collect();
    assert_eq!(
        codes,
        ["AC_B", "AC_CHAIR", "AC_S", "SHOVAN", "SNIGDHA", "S_CHAIR"]
    );

    line(&store).await;
    let rows: Vec<_> = classes
        .iter()
        .map(|c| FareRow {
            from: code("DHK"),
            to: code("CTG"),
            class: *c,
            fare: Fare { base: 100, vat: 0 },
        })
        .collect();
    store.upsert_fares(&rows).await.unwrap();
    let between: Vec<_> = store
        .fares_between(&code("DHK"), &code("CTG"))
        .await
        .unwrap()
        .iter()
        .map(|(c, _)| c.code())
        .collect();
    assert_eq!(between, codes);

    let mut t = train(742);
    t.coaches[1].class = SeatClass::Snigdha;
    store.upsert_train(&t).await.unwrap();
    let trip = trip_of(&store, 742, 1).await.unwrap();
    let all = Journey::new(0, 2, 3).unwrap().mask();
    let counts: Vec<_> = store
        .free_seat_counts(&[(trip, all)])
        .await
        .unwrap()
        .iter()
        .map(|c| (c.class.code(), c.free))
        .collect();
    assert_eq!(counts, [("SNIGDHA", 2), ("S_CHAIR", 3)]);
}

/// A batch that names one fare twice is applied in order, like separate calls.
async fn fares_batch_with_repeats(store: Arc<dyn Store>) {
    line(&store).await;
    let fare = |base| FareRow {
        from: code("DHK"),
        to: code("CTG"),
        class: SeatClass::Snigdha,
        fare: Fare { base, vat: 0 },
    };
    assert_eq!(
        store
            .upsert_fares(&[fare(100), fare(100), fare(120)])
            .await
            .unwrap(),
        2,
        "insert, unchanged, update"
    );
    assert_eq!(
        store
            .fares_between(&code("DHK"), &code("CTG"))
            .await
            .unwrap(),
        vec![(SeatClass::Snigdha, Fare { base: 120, vat: 0 })]
    );
    // An unknown station anywhere in the batch writes nothing.
    let mut bad = fare(1);
    bad.to = code("XYZ");
    assert!(matches!(
        store.upsert_fares(&[fare(130), bad]).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.counts().await.unwrap().fares, 1);
    assert_eq!(
        store
            .fares_between(&code("DHK"), &code("CTG"))
            .await
            .unwrap()[0]
            .1
            .base,
        120
    );
    let rate = |per_km| FareRate {
        per_km,
        min: 10,
        vat_percent: 0,
    };
    assert_eq!(
        store
            .upsert_fare_rates(&[
                (SeatClass::Snigdha, rate(1.0)),
                (SeatClass::Snigdha, rate(1.0)),
                (SeatClass::Snigdha, rate(2.0)),
            ])
            .await
            .unwrap(),
        2
    );
}

/// Rows that point at nothing are the caller's conflict on both backends.
async fn dangling_references_conflict(store: Arc<dyn Store>) {
    let now = Utc::now();
    assert!(matches!(
        store.insert_refresh_token("h", UserId(9999), now).await,
        Err(StoreError::Conflict(_))
    ));
    let dangling_trip = NewTrip {
        train_id: TrainId(9999),
        date: date(1),
        departs_at: now,
        sale_opens_at: now,
        seats: vec![],
    };
    assert!(matches!(
        store.create_trip(&dangling_trip).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.counts().await.unwrap(), Counts::default());
}

async fn counts_and_edges(store: Arc<dyn Store>) {
    assert_eq!(store.counts().await.unwrap(), Counts::default());
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    trip_of(&store, 742, 1).await.unwrap();
    store
        .upsert_fares(&[FareRow {
            from: code("DHK"),
            to: code("CTG"),
            class: SeatClass::Snigdha,
            fare: Fare { base: 1, vat: 0 },
        }])
        .await
        .unwrap();
    let u = user(&store, 1).await;
    assert_eq!(
        store.counts().await.unwrap(),
        Counts {
            stations: 3,
            trains: 1,
            train_stops: 3,
            coaches: 2,
            fares: 1,
            trips: 1,
            seats: 5,
            users: 1,
        }
    );
    assert!(
        store
            .trips_between(date(2), date(1))
            .await
            .unwrap()
            .is_empty(),
        "an empty range"
    );
    assert!(store.trip(TripId(9999)).await.unwrap().is_none());
    assert!(store.seats(TripId(9999)).await.unwrap().is_empty());

    // Clearing resets a counter that has not reached the lock yet.
    let now = Utc::now();
    let lock = Duration::minutes(1);
    store
        .reserve_login_attempt(u.id, now, 5, lock)
        .await
        .unwrap();
    assert_eq!(store.user(u.id).await.unwrap().unwrap().failed_logins, 1);
    store.clear_failed_logins(u.id).await.unwrap();
    assert_eq!(store.user(u.id).await.unwrap().unwrap().failed_logins, 0);
    assert!(matches!(
        store
            .reserve_login_attempt(UserId(9999), now, 5, lock)
            .await,
        Err(StoreError::NotFound(_))
    ));
    store.set_totp(u.id, Some("S"), true).await.unwrap();
    store.set_totp(u.id, None, false).await.unwrap();
    let cleared = store.user(u.id).await.unwrap().unwrap();
    assert_eq!((cleared.totp_secret, cleared.mfa_enabled), (None, false));
    assert_eq!(
        store.user_by_login("U1@X.COM").await.unwrap(),
        None,
        "logins match exactly; callers normalise"
    );
}

/// Counter sales: the buyer's phone against the hold, the 4-seat count per
/// phone, look-up by phone, cash refunds once, a clerk's shift totals, and
/// which seats are merely held (not yet sold).
async fn counter_sales_shift_and_pending_holds(store: Arc<dyn Store>) {
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    let trip = trip_of(&store, 742, 1).await.unwrap();
    let seats = store.seats(trip).await.unwrap();
    let passenger = user(&store, 1).await;
    let clerk = user(&store, 2).await;
    let since = Utc::now() - Duration::minutes(1);
    let phone = "+8801711111111";

    let hold = store
        .create_hold(&new_hold(
            trip,
            clerk.id,
            0,
            2,
            vec![seats[0].id, seats[1].id],
        ))
        .await
        .unwrap();
    let mut pending = store.pending_hold_seats(trip).await.unwrap();
    pending.sort_by_key(|(seat, _)| *seat);
    assert_eq!(
        pending,
        [(seats[0].id, hold.mask), (seats[1].id, hold.mask)]
    );

    store
        .record_counter_sale(hold.id, clerk.id, phone, Utc::now())
        .await
        .unwrap();
    store
        .record_counter_sale(hold.id, clerk.id, phone, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        store.counter_seats_on_trip(phone, trip).await.unwrap(),
        0,
        "no order yet"
    );
    let order = store
        .create_order(&NewOrder {
            user_id: clerk.id,
            hold_id: hold.id,
            passengers: vec![
                PassengerInput {
                    name: "A".parse().unwrap(),
                    nid: None,
                },
                PassengerInput {
                    name: "B".parse().unwrap(),
                    nid: None,
                },
            ],
            payment_token: "cash_1".into(),
            idempotency_key: "k".into(),
            request_hash: "h".into(),
            now: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.pending_hold_seats(trip).await.unwrap().len(),
        2,
        "still being paid"
    );
    assert_eq!(store.counter_seats_on_trip(phone, trip).await.unwrap(), 2);
    assert_eq!(
        store.shift_totals(clerk.id, since).await.unwrap(),
        ShiftTotals::default()
    );

    for (from, to) in [
        (OrderStatus::Reserved, OrderStatus::Paid),
        (OrderStatus::Paid, OrderStatus::Confirmed),
    ] {
        assert!(
            store
                .transition_order(order.id, from, to, &OrderChange::default(), Utc::now())
                .await
                .unwrap()
        );
    }
    assert!(
        store.pending_hold_seats(trip).await.unwrap().is_empty(),
        "sold, not held"
    );
    let sale = store.counter_sale(order.id).await.unwrap().unwrap();
    assert_eq!(
        (sale.order_id, sale.clerk_id, sale.phone.as_str()),
        (order.id, clerk.id, phone)
    );
    assert_eq!(
        store.shift_totals(clerk.id, since).await.unwrap(),
        ShiftTotals {
            orders: 1,
            tickets: 2,
            cash_in: 900,
            refunds: 0,
            cash_out: 0
        }
    );
    assert_eq!(
        store.shift_totals(passenger.id, since).await.unwrap(),
        ShiftTotals::default(),
        "another clerk's drawer"
    );

    // An online order is found by its account's phone; a counter sale by the buyer's.
    let online = store
        .create_hold(&new_hold(trip, passenger.id, 0, 1, vec![seats[2].id]))
        .await
        .unwrap();
    let online = store
        .create_order(&NewOrder {
            user_id: passenger.id,
            hold_id: online.id,
            passengers: vec![PassengerInput {
                name: "C".parse().unwrap(),
                nid: None,
            }],
            payment_token: "tok".into(),
            idempotency_key: "k".into(),
            request_hash: "h".into(),
            now: Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(store.order_ids_by_phone(phone).await.unwrap(), [order.id]);
    assert_eq!(
        store.order_ids_by_phone(&passenger.phone).await.unwrap(),
        [online.id]
    );
    assert!(
        store
            .order_ids_by_phone("+8801900000000")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.counter_sale(online.id).await.unwrap().is_none());

    assert!(
        store
            .record_counter_refund(order.id, clerk.id, 300, Utc::now())
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_counter_refund(order.id, clerk.id, 300, Utc::now())
            .await
            .unwrap()
    );
    assert!(
        store
            .transition_order(
                order.id,
                OrderStatus::Confirmed,
                OrderStatus::Refunded,
                &OrderChange {
                    refunded_amount: Some(300),
                    ..Default::default()
                },
                Utc::now()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.counter_seats_on_trip(phone, trip).await.unwrap(),
        0,
        "refunded seats are not the passenger's"
    );
    assert_eq!(
        store.shift_totals(clerk.id, since).await.unwrap(),
        ShiftTotals {
            orders: 1,
            tickets: 2,
            cash_in: 900,
            refunds: 1,
            cash_out: 300
        }
    );
    let later = Utc::now() + Duration::minutes(5);
    assert_eq!(
        store.shift_totals(clerk.id, later).await.unwrap(),
        ShiftTotals::default()
    );
}

/// A reserved order with one passenger per seat of `seats` (fresh trip of train 742).
/// The seat cap decides on both backends, with the write: a hold or a counter
/// order is admitted up to the cap and refused one seat past it, in the cap's
/// words, and a refused one takes nothing.
async fn the_seat_cap_decides_holds_and_counter_orders_at_its_boundary(store: Arc<dyn Store>) {
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    let trip = trip_of(&store, 742, 1).await.unwrap();
    let seats = store.seats(trip).await.unwrap();
    let (a, clerk) = (user(&store, 1).await, user(&store, 2).await);
    let cap = SeatCap::of(2);
    let capped = |seat: SeatId| NewHold {
        seat_cap: Some(cap),
        ..new_hold(trip, a.id, 0, 2, vec![seat])
    };
    store.create_hold(&capped(seats[0].id)).await.unwrap();
    store.create_hold(&capped(seats[1].id)).await.unwrap();
    let refused = store.create_hold(&capped(seats[2].id)).await;
    let words = cap.admit(2, 1).unwrap_err().to_string();
    assert_eq!(
        words,
        "at most 2 seats per passenger per trip; you already have 2"
    );
    assert!(
        matches!(&refused, Err(StoreError::Conflict(m)) if *m == words),
        "{refused:?}"
    );
    assert_eq!(
        store.seats(trip).await.unwrap()[2].taken,
        SegmentMask::EMPTY
    );

    // At a counter the cap is per buyer's NID: the clerk's holds are not capped.
    let phone = "+8801711111111";
    let caps = NidCaps {
        per_trip: SeatCap::of(1),
        per_day: None,
    };
    let buyer = CounterBuyer {
        clerk_id: clerk.id,
        phone: phone.into(),
        nid: Nid::parse("5511711111111").unwrap(),
        caps,
    };
    let counter_order = |journey: (usize, usize), key: &str| {
        let store = store.clone();
        let (buyer, key, seat) = (buyer.clone(), key.to_owned(), seats[2].id);
        async move {
            let hold = NewHold {
                seat_cap: None,
                ..new_hold(trip, clerk.id, journey.0, journey.1, vec![seat])
            };
            let hold = store.create_hold(&hold).await.unwrap();
            let order = NewOrder {
                user_id: clerk.id,
                hold_id: hold.id,
                passengers: vec![PassengerInput {
                    name: "Rahima".parse().unwrap(),
                    nid: None,
                }],
                payment_token: "tok".into(),
                idempotency_key: key,
                request_hash: "hash".into(),
                now: Utc::now(),
            };
            store.create_counter_order(&order, &buyer).await
        }
    };
    counter_order((0, 1), "first").await.unwrap();
    let refused = counter_order((1, 2), "second").await;
    let expected = caps.admit(1, 1, 1).unwrap_err();
    assert_eq!(
        expected.to_string(),
        "at most 1 seats per NID per trip, online and at counters together; \
         this NID already has 1 on this trip"
    );
    assert!(
        matches!(&refused, Err(StoreError::NidCapReached(r)) if *r == expected),
        "{refused:?}"
    );
    assert_eq!(store.counter_seats_on_trip(phone, trip).await.unwrap(), 1);
}

async fn reserved_order(store: &Arc<dyn Store>, u: &User, seats: usize, key: &str) -> Order {
    let trip = match trip_of(store, 742, 1).await {
        Some(t) => t,
        None => store.trips_between(date(1), date(1)).await.unwrap()[0].id,
    };
    let free: Vec<SeatId> = store
        .seats(trip)
        .await
        .unwrap()
        .iter()
        .filter(|s| s.taken.is_empty())
        .take(seats)
        .map(|s| s.id)
        .collect();
    let hold = store
        .create_hold(&new_hold(trip, u.id, 0, 2, free))
        .await
        .unwrap();
    let passengers = (0..seats)
        .map(|i| PassengerInput {
            name: format!("P{i}").parse().unwrap(),
            nid: None,
        })
        .collect();
    store
        .create_order(&NewOrder {
            user_id: u.id,
            hold_id: hold.id,
            passengers,
            payment_token: "tok".into(),
            idempotency_key: key.into(),
            request_hash: "hash".into(),
            now: Utc::now(),
        })
        .await
        .unwrap()
}

fn tickets_for(order: &Order, tag: &str) -> Vec<NewTicket> {
    order
        .passengers
        .iter()
        .map(|p| NewTicket {
            pnr: format!("{tag}{:04}", p.seq),
            order_id: order.id,
            passenger_seq: p.seq,
            seat_id: p.seat_id,
            payload: format!("payload-{tag}-{}", p.seq),
        })
        .collect()
}

async fn events_of(store: &Arc<dyn Store>, order: OrderId) -> Vec<String> {
    store
        .outbox_pending(Consumer::Audit, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject_id.order() == order)
        .map(|e| e.kind().to_owned())
        .collect()
}

/// An answer for a confirmation to record under `key`, made from the tickets
/// it issues: 201 with their ids.
fn answer_of_tickets(u: &User, key: &str) -> AnswerToRecord {
    AnswerToRecord {
        user_id: u.id,
        key: key.into(),
        answer: Box::new(|issued: &[Ticket]| RecordedAnswer {
            status: 201,
            body: format!("{:?}", issued.iter().map(|t| t.id).collect::<Vec<_>>()),
        }),
    }
}

/// `confirm_order` writes the charge, reserved → paid → confirmed with their
/// events, the tickets (and their event) and the answer given with it, made
/// from the issued tickets, in one go; or nothing at all when the order has
/// moved on. An answer recorded before under the key stands.
async fn confirm_order_writes_charge_tickets_and_events_once(store: Arc<dyn Store>) {
    line(&store).await;
    store.upsert_train(&train(742)).await.unwrap();
    let u = user(&store, 1).await;
    let order = reserved_order(&store, &u, 2, "key-c").await;
    let before = events_of(&store, order.id).await;
    let confirmation = |order: &Order| Confirmation {
        order_id: order.id,
        from: OrderStatus::Reserved,
        charge_id: Some("ch_conf".into()),
        tickets: tickets_for(order, "CONF"),
        now: Utc::now(),
        answer: Some(answer_of_tickets(&u, "key-c")),
    };
    let done = store
        .confirm_order(confirmation(&order))
        .await
        .unwrap()
        .expect("a reserved order is confirmed");
    let tickets = done.tickets;
    assert_eq!(tickets.len(), 2);
    assert!(
        tickets
            .iter()
            .all(|t| t.status == TicketStatus::Valid && t.order_id == order.id)
    );
    let now = store.order(order.id).await.unwrap().unwrap();
    assert_eq!(now.status, OrderStatus::Confirmed);
    assert_eq!(now.charge_id.as_deref(), Some("ch_conf"));
    assert_eq!(store.tickets_of_order(order.id).await.unwrap(), tickets);
    let answer = RecordedAnswer {
        status: 201,
        body: format!("{:?}", tickets.iter().map(|t| t.id).collect::<Vec<_>>()),
    };
    assert_eq!(done.answer.as_ref(), Some(&answer), "made from the tickets");
    let rec = store.idempotency(u.id, "key-c").await.unwrap().unwrap();
    assert_eq!(rec.answer(), Some(answer.clone()), "recorded with it");
    let mut expected = before.clone();
    expected.extend(["order.paid", "order.confirmed", "ticket.issued"].map(String::from));
    assert_eq!(events_of(&store, order.id).await, expected);

    // Again: the order is no longer reserved, so nothing is written.
    assert_eq!(
        store.confirm_order(confirmation(&order)).await.unwrap(),
        None
    );
    assert_eq!(store.tickets_of_order(order.id).await.unwrap().len(), 2);
    assert_eq!(events_of(&store, order.id).await, expected);
    let rec = store.idempotency(u.id, "key-c").await.unwrap().unwrap();
    assert_eq!(rec.answer(), Some(answer));

    // From paid (the charge already recorded): no charge id, and with a key
    // answered before, that answer stands.
    let second = reserved_order(&store, &u, 1, "key-d").await;
    let first = RecordedAnswer {
        status: 409,
        body: "answered before".into(),
    };
    assert!(
        store
            .finish_idempotency(u.id, "key-d", &first)
            .await
            .unwrap()
    );
    let change = OrderChange {
        charge_id: Some("ch_paid".into()),
        ..Default::default()
    };
    assert!(
        store
            .transition_order(
                second.id,
                OrderStatus::Reserved,
                OrderStatus::Paid,
                &change,
                Utc::now()
            )
            .await
            .unwrap()
    );
    let done = store
        .confirm_order(Confirmation {
            order_id: second.id,
            from: OrderStatus::Paid,
            charge_id: None,
            tickets: tickets_for(&second, "PAID"),
            now: Utc::now(),
            answer: Some(answer_of_tickets(&u, "key-d")),
        })
        .await
        .unwrap()
        .expect("a paid order is confirmed");
    assert_eq!(done.tickets.len(), 1);
    assert_eq!(done.answer, None, "an answer was recorded before");
    let now = store.order(second.id).await.unwrap().unwrap();
    assert_eq!(
        (now.status, now.charge_id.as_deref()),
        (OrderStatus::Confirmed, Some("ch_paid"))
    );
    let rec = store.idempotency(u.id, "key-d").await.unwrap().unwrap();
    assert_eq!(rec.answer(), Some(first), "the first answer stands");
}

/// Three audited events from expiring three holds.
async fn three_events(store: &Arc<dyn Store>) -> Vec<OutboxEvent> {
    line(store).await;
    store.upsert_train(&train(742)).await.unwrap();
    let trip = trip_of(store, 742, 1).await.unwrap();
    let seats = store.seats(trip).await.unwrap();
    for n in 0..3 {
        let u = user(store, n + 1).await;
        let mut h = new_hold(trip, u.id, 0, 2, vec![seats[n as usize].id]);
        h.expires_at = h.now;
        store.create_hold(&h).await.unwrap();
    }
    store.expire_holds(Utc::now(), 10).await.unwrap();
    let events = store.outbox_pending(Consumer::Audit, 10).await.unwrap();
    assert_eq!(events.len(), 3);
    events
}

fn assert_chained(log: &[AuditRecord], events: &[OutboxEvent]) {
    let mut prev = ticketctl::domain::audit::GENESIS.to_owned();
    assert_eq!(log.len(), events.len());
    for (entry, event) in log.iter().zip(events) {
        assert_eq!(entry.event_id, event.id, "in the events' order");
        assert_eq!(entry.prev_hash, prev);
        let hash = ticketctl::domain::audit::chain_hash(
            &prev,
            event.created_at.timestamp(),
            event.kind(),
            event.subject_id,
            &event.payload,
        );
        assert_eq!(entry.hash, hash);
        prev = hash;
    }
}

/// `audit_append_all` appends a batch in order with the same chain as one by
/// one, skips events already logged (also twice in one batch), and an empty
/// batch writes nothing.
async fn audit_append_all_chains_a_batch_and_logs_each_event_once(store: Arc<dyn Store>) {
    let events = three_events(&store).await;
    store.audit_append_all(&[]).await.unwrap();
    assert!(store.audit_log().await.unwrap().is_empty());
    store.audit_append_all(&events[..2]).await.unwrap();
    assert_chained(&store.audit_log().await.unwrap(), &events[..2]);
    // A redelivered batch overlapping the logged events, with one event twice.
    let batch = [
        events[1].clone(),
        events[2].clone(),
        events[2].clone(),
        events[0].clone(),
    ];
    store.audit_append_all(&batch).await.unwrap();
    assert_chained(&store.audit_log().await.unwrap(), &events);
    // One by one after a batch continues the same chain.
    store.audit_append(&events[2]).await.unwrap();
    assert_chained(&store.audit_log().await.unwrap(), &events);
}

/// `outbox_mark_and_claim` marks the handled events before it claims (so the
/// owner does not take them back as its own), and claims as `outbox_claim`
/// does; `audit_append_and_mark` logs a batch and marks it audited together.
async fn a_claim_marks_the_last_batch_and_the_audit_marks_with_its_append(store: Arc<dyn Store>) {
    let events = three_events(&store).await;
    let ids = |v: Vec<OutboxEvent>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let all: Vec<EventId> = events.iter().map(|e| e.id).collect();
    let claim = |owner: &str| OutboxClaim {
        owner: owner.into(),
        now: Utc::now(),
        lease: Duration::seconds(60),
    };
    let first = store
        .outbox_mark_and_claim(Consumer::Notification, &[], &claim("me"), 2)
        .await
        .unwrap();
    assert_eq!(ids(first), all[..2], "nothing to mark: a plain claim");
    let next = store
        .outbox_mark_and_claim(Consumer::Notification, &all[..2], &claim("me"), 2)
        .await
        .unwrap();
    assert_eq!(ids(next), all[2..], "the marked batch is not claimed again");
    assert_eq!(
        ids(store
            .outbox_pending(Consumer::Notification, 10)
            .await
            .unwrap()),
        all[2..],
        "marked handled"
    );
    assert!(
        store
            .outbox_mark_and_claim(Consumer::Notification, &[], &claim("other"), 10)
            .await
            .unwrap()
            .is_empty(),
        "another owner waits for the lease"
    );
    assert_eq!(
        store
            .outbox_pending(Consumer::Fulfillment, 10)
            .await
            .unwrap()
            .len(),
        3,
        "one consumer's marks are its own"
    );

    store
        .audit_append_and_mark(&events[..2], Utc::now())
        .await
        .unwrap();
    assert_chained(&store.audit_log().await.unwrap(), &events[..2]);
    assert_eq!(
        ids(store.outbox_pending(Consumer::Audit, 10).await.unwrap()),
        all[2..]
    );
    store
        .audit_append_and_mark(&events, Utc::now())
        .await
        .unwrap();
    assert_chained(&store.audit_log().await.unwrap(), &events);
    assert!(
        store
            .outbox_pending(Consumer::Audit, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The relay to the event stream keeps its own progress: events marked
/// relayed leave its queue only, in id order, whatever the other consumers did.
async fn the_relay_tracks_its_own_progress(store: Arc<dyn Store>) {
    let events = three_events(&store).await;
    let ids = |v: Vec<OutboxEvent>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let all: Vec<EventId> = events.iter().map(|e| e.id).collect();
    store
        .outbox_mark(Consumer::Audit, &all, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        ids(store.outbox_pending(Consumer::Relay, 10).await.unwrap()),
        all,
        "other consumers' marks do not relay anything"
    );
    assert_eq!(
        ids(store.outbox_pending(Consumer::Relay, 2).await.unwrap()),
        all[..2],
        "a batch is the oldest events"
    );
    store
        .outbox_mark(Consumer::Relay, &all[..2], Utc::now())
        .await
        .unwrap();
    assert_eq!(
        ids(store.outbox_pending(Consumer::Relay, 10).await.unwrap()),
        all[2..]
    );
    assert_eq!(
        store
            .outbox_pending(Consumer::Notification, 10)
            .await
            .unwrap()
            .len(),
        3,
        "relaying marks nothing else"
    );
}

on_both_stores!(
    migrations_are_idempotent,
    stations_upsert_and_round_trip,
    trains_round_trip_exactly,
    fares_and_rates,
    trips_seats_and_free_counts,
    users_logins_lockout_and_tokens,
    holds_take_segments_atomically,
    orders_idempotency_and_transitions,
    gateway_ledger_outbox_and_audit,
    class_ordering_is_bytewise,
    fares_batch_with_repeats,
    dangling_references_conflict,
    counts_and_edges,
    counter_sales_shift_and_pending_holds,
    the_seat_cap_decides_holds_and_counter_orders_at_its_boundary,
    confirm_order_writes_charge_tickets_and_events_once,
    audit_append_all_chains_a_batch_and_logs_each_event_once,
    a_claim_marks_the_last_batch_and_the_audit_marks_with_its_append,
    the_relay_tracks_its_own_progress,
);
