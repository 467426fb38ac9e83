//! The simulation engine: a queue of timed events (buyers arriving, messages
//! delivered, writes committing, timers, crashes) and the protocol's handlers.
//! Regions write only the trips homed with them, under the epoch of the lease
//! they hold; rows replicate in order and are refused by a region whose epoch
//! for that trip is newer; a returning region's refused or unreplicated rows
//! are re-applied at the current home or refunded.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::check;
use super::faults::{self, Fault, FaultKind, Node};
use super::model::{
    Charge, Db, Entry, Held, Intent, Lease, Region, RegionState, SaleState, Time, Told, group_of,
};
use super::{Outcome, Sabotage, Settings};

/// A buyer asks again when no answer came within this.
const CLIENT_TIMEOUT_MS: Time = 2_000;
const CLIENT_ATTEMPTS: u32 = 25;
const PUMP_MS: Time = 25;
/// The replication stream is resent from the last acknowledged row when acks stall this long.
const RESEND_AFTER_MS: Time = 500;
const RECONCILE_MS: Time = 500;
const WAITING_CHECK_MS: Time = 250;
const ROWS_PER_PUMP: usize = 64;

#[derive(Debug, Clone)]
enum Msg {
    Book {
        order: u64,
        forwarded: bool,
    },
    Answer {
        order: u64,
        answer: Answer,
    },
    Replicate {
        lsn: usize,
        entry: Entry,
    },
    Ack {
        lsn: usize,
        accepted: bool,
    },
    Renew {
        group: usize,
        epoch: u64,
        sent_local: f64,
    },
    Renewed {
        group: usize,
        epoch: u64,
        sent_local: f64,
    },
    Lost {
        group: usize,
        epoch: u64,
    },
    Probe {
        holding: [bool; 2],
        sent_local: f64,
    },
    Granted {
        group: usize,
        epoch: u64,
        sent_local: f64,
    },
    Reapply {
        intent: Intent,
    },
    Reapplied {
        order: u64,
        verdict: Verdict,
    },
}

/// What the home did with a row in doubt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// It had the origin's own row all along (only the acknowledgement was lost).
    Kept,
    /// It stands there under a row of the home's; that row arrives by replication.
    Sold,
    /// Its seats were resold: refunded.
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Confirmed,
    Refused,
    Unavailable,
}

#[derive(Debug, Clone, Copy)]
enum Timer {
    Renew,
    Probe,
    Pump,
    Reconcile,
    Waiting,
}

#[derive(Debug, Clone)]
enum Event {
    Arrive {
        order: u64,
        attempt: u32,
    },
    Deliver {
        from: Node,
        to: Node,
        msg: Msg,
    },
    Commit {
        region: Region,
        life: u64,
        order: u64,
        epoch: u64,
    },
    Tick {
        region: Region,
        life: u64,
        timer: Timer,
    },
    Crash(Region),
    Restart(Region),
}

pub struct World {
    settings: Settings,
    rng: ChaCha8Rng,
    now: Time,
    end: Time,
    seq: u64,
    queue: BinaryHeap<Reverse<(Time, u64)>>,
    events: BTreeMap<u64, Event>,
    faults: Vec<Fault>,
    regions: [RegionState; 2],
    leases: [Lease; 2],
    intents: BTreeMap<u64, Intent>,
    /// Buyers who have their final answer.
    done: BTreeMap<u64, Answer>,
    told: BTreeMap<u64, Told>,
    charges: BTreeMap<u64, Charge>,
    /// Per region, acknowledgements that arrived ahead of the next expected one.
    early_acks: [BTreeMap<usize, bool>; 2],
    /// Per region, the other region's rows it refused (so a resent row is answered alike).
    refused: [BTreeMap<usize, bool>; 2],
    outcome: Outcome,
}

impl World {
    pub fn new(seed: u64, settings: Settings) -> World {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let window = settings.fault_window_ms;
        let faults = faults::draw(&mut rng, window);
        let mut rates = [0.0; 2];
        for rate in &mut rates {
            *rate = rng.gen_range(-settings.max_skew..=settings.max_skew);
        }
        if settings.sabotage == Sabotage::ClockSkew {
            rates[0] = rng.gen_range(-0.30..=-0.20);
        }
        let mut intents = BTreeMap::new();
        for order in 1..=settings.buyers as u64 {
            let from = rng.gen_range(0..settings.segments);
            let to = rng.gen_range(from + 1..=settings.segments);
            let segments = ((1u64 << to) - 1) & !((1u64 << from) - 1);
            intents.insert(
                order,
                Intent {
                    order,
                    trip: rng.gen_range(0..settings.trips),
                    seat: rng.gen_range(0..settings.seats),
                    segments,
                    arrives: rng.gen_range(0..window),
                },
            );
        }
        let region = |r: usize, clock_rate: f64| {
            let mut held = [None, None];
            held[r] = Some(Held {
                epoch: 1,
                renewed_local: 0.0,
            });
            RegionState {
                db: Db::new(),
                up: true,
                life: 0,
                held,
                asynchronous: false,
                waiting: BTreeMap::new(),
                sent: 0,
                last_ack_progress: 0,
                clock_rate,
            }
        };
        let ttl = settings.lease_ttl_ms;
        let lease = |r: usize| Lease {
            holder: Region(r),
            epoch: 1,
            expires: ttl,
        };
        let mut world = World {
            end: window + settings.settle_ms,
            outcome: Outcome {
                seed,
                faults: faults.clone(),
                ..Outcome::default()
            },
            settings,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            regions: [region(0, rates[0]), region(1, rates[1])],
            leases: [lease(0), lease(1)],
            faults,
            intents,
            done: BTreeMap::new(),
            told: BTreeMap::new(),
            charges: BTreeMap::new(),
            early_acks: [BTreeMap::new(), BTreeMap::new()],
            refused: [BTreeMap::new(), BTreeMap::new()],
        };
        let arrivals: Vec<(u64, Time)> = world
            .intents
            .values()
            .map(|i| (i.order, i.arrives))
            .collect();
        for (order, at) in arrivals {
            world.at(at, Event::Arrive { order, attempt: 1 });
        }
        for fault in world.faults.clone() {
            if let FaultKind::Crash(r) = fault.kind {
                world.at(fault.from, Event::Crash(r));
                world.at(fault.until, Event::Restart(r));
            }
        }
        for r in Region::ALL {
            world.start_timers(r);
        }
        world
    }

    /// Removes the schedule's faults (crashes already queued stay), for tests.
    #[cfg(test)]
    pub fn clear_faults(&mut self) {
        self.faults
            .retain(|f| matches!(f.kind, FaultKind::Crash(_)));
        self.outcome.faults.clear();
        let crashes: Vec<u64> = self
            .events
            .iter()
            .filter(|(_, e)| matches!(e, Event::Crash(_) | Event::Restart(_)))
            .map(|(id, _)| *id)
            .collect();
        for id in crashes {
            self.events.remove(&id);
        }
        let events = &self.events;
        self.queue
            .retain(|Reverse((_, id))| events.contains_key(id));
        self.faults.clear();
        self.settings.pause_chance = 0.0;
    }

    pub fn run(mut self) -> Outcome {
        while let Some(Reverse((at, id))) = self.queue.pop() {
            if at > self.end {
                break;
            }
            self.now = at;
            let event = self
                .events
                .remove(&id)
                .expect("every queued event is stored");
            self.outcome.events += 1;
            self.handle(event);
        }
        let (checks, violations) = check::check(&self.regions, &self.told, &self.charges);
        self.outcome.checks = checks;
        self.outcome.violations = violations;
        self.outcome
    }

    fn at(&mut self, at: Time, event: Event) {
        self.seq += 1;
        self.events.insert(self.seq, event);
        self.queue.push(Reverse((at, self.seq)));
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrive { order, attempt } => self.arrive(order, attempt),
            Event::Deliver { from, to, msg } => self.deliver(from, to, msg),
            Event::Commit {
                region,
                life,
                order,
                epoch,
            } => {
                if self.alive(region, life) {
                    self.commit(region, order, epoch);
                }
            }
            Event::Tick {
                region,
                life,
                timer,
            } => {
                if self.alive(region, life) {
                    self.tick(region, timer);
                }
            }
            Event::Crash(r) => self.crash(r),
            Event::Restart(r) => {
                self.regions[r.0].up = true;
                self.start_timers(r);
            }
        }
    }

    fn alive(&self, r: Region, life: u64) -> bool {
        let region = &self.regions[r.0];
        region.up && region.life == life
    }

    // ---- the network -------------------------------------------------------

    fn link_up(&self, a: Node, b: Node) -> bool {
        !self.faults.iter().any(|f| f.cuts(a, b, self.now))
    }

    fn delay(&mut self, a: Node, b: Node) -> Time {
        if a == Node::Client || b == Node::Client {
            return self.rng.gen_range(2..=10);
        }
        let half = (self.settings.rtt_ms / 2).max(1);
        let mut delay = half + self.rng.gen_range(0..=half);
        let between_regions = matches!((a, b), (Node::Region(_), Node::Region(_)));
        let slow = self
            .faults
            .iter()
            .any(|f| f.kind == FaultKind::SlowLink && f.active(self.now));
        if between_regions && slow {
            delay += self.rng.gen_range(0..=2_000);
        }
        delay
    }

    fn send(&mut self, from: Node, to: Node, msg: Msg) {
        self.outcome.messages += 1;
        if !self.link_up(from, to) {
            return;
        }
        let at = self.now + self.delay(from, to);
        self.at(at, Event::Deliver { from, to, msg });
    }

    fn deliver(&mut self, from: Node, to: Node, msg: Msg) {
        // A partition that began while the message was on its way drops it too.
        if !self.link_up(from, to) {
            return;
        }
        match to {
            Node::Client => {
                if let Msg::Answer { order, answer } = msg
                    && answer != Answer::Unavailable
                {
                    self.done.entry(order).or_insert(answer);
                }
            }
            Node::Witness => {
                if let Node::Region(r) = from {
                    self.witness(r, msg);
                }
            }
            Node::Region(r) => {
                if self.regions[r.0].up {
                    self.region_receives(r, from, msg);
                }
            }
        }
    }

    // ---- buyers ------------------------------------------------------------

    fn arrive(&mut self, order: u64, attempt: u32) {
        if self.done.contains_key(&order) || attempt > CLIENT_ATTEMPTS {
            return;
        }
        let r = Region(self.rng.gen_range(0..2));
        self.send(
            Node::Client,
            Node::Region(r),
            Msg::Book {
                order,
                forwarded: false,
            },
        );
        self.at(
            self.now + CLIENT_TIMEOUT_MS,
            Event::Arrive {
                order,
                attempt: attempt + 1,
            },
        );
    }

    fn answer(&mut self, r: Region, order: u64, answer: Answer) {
        self.send(Node::Region(r), Node::Client, Msg::Answer { order, answer });
    }

    // ---- leases, as a region believes them and as the witness knows them ----

    fn lease_valid(&self, r: Region, group: usize) -> bool {
        let region = &self.regions[r.0];
        match region.held[group] {
            Some(held) => {
                let limit = (self.settings.lease_ttl_ms - self.settings.lease_margin_ms) as f64;
                region.local(self.now) - held.renewed_local < limit
            }
            None => false,
        }
    }

    fn truly_valid(&self, r: Region, group: usize) -> bool {
        let lease = self.leases[group];
        lease.holder == r
            && self.now < lease.expires
            && self.regions[r.0].held[group].is_some_and(|h| h.epoch == lease.epoch)
    }

    fn fenced(&self) -> bool {
        self.settings.sabotage != Sabotage::NoFence
    }

    // ---- a region's request handling ------------------------------------------

    fn region_receives(&mut self, r: Region, from: Node, msg: Msg) {
        match msg {
            Msg::Book { order, forwarded } => self.book(r, order, forwarded),
            Msg::Replicate { lsn, entry } => self.apply(r, lsn, entry),
            Msg::Ack { lsn, accepted } => self.acked(r, lsn, accepted),
            Msg::Renewed {
                group,
                epoch,
                sent_local,
            } => {
                if let Some(held) = &mut self.regions[r.0].held[group]
                    && held.epoch == epoch
                {
                    held.renewed_local = held.renewed_local.max(sent_local);
                }
            }
            Msg::Lost { group, epoch } => {
                let held = &mut self.regions[r.0].held[group];
                if held.is_some_and(|h| h.epoch == epoch) {
                    *held = None;
                }
            }
            Msg::Granted {
                group,
                epoch,
                sent_local,
            } => self.granted(r, group, epoch, sent_local),
            Msg::Reapply { intent } => {
                if let Node::Region(origin) = from {
                    self.reapply_here(r, origin, intent);
                }
            }
            Msg::Reapplied { order, verdict } => {
                if let Some(sale) = self.regions[r.0].db.sales.get_mut(&order)
                    && sale.state == SaleState::Doubt
                {
                    sale.state = match verdict {
                        Verdict::Kept => SaleState::Live,
                        Verdict::Sold => SaleState::Moved,
                        Verdict::Refunded => SaleState::Void,
                    };
                }
            }
            Msg::Answer { .. } | Msg::Renew { .. } | Msg::Probe { .. } => {}
        }
    }

    fn book(&mut self, r: Region, order: u64, forwarded: bool) {
        let intent = self.intents[&order];
        if self.regions[r.0].db.sales.contains_key(&order) {
            self.answer_known(r, order);
            return;
        }
        let group = group_of(intent.trip);
        let (home, epoch) = self.regions[r.0].db.homes[group];
        if home != r {
            if forwarded {
                self.answer(r, order, Answer::Unavailable);
            } else {
                let msg = Msg::Book {
                    order,
                    forwarded: true,
                };
                self.send(Node::Region(r), Node::Region(home), msg);
            }
            return;
        }
        let held = self.regions[r.0].held[group];
        match held {
            Some(h) if self.lease_valid(r, group) && (h.epoch == epoch || !self.fenced()) => {
                // The lease was checked; the write commits after the writer's delay,
                // which now and then is a long pause (GC, swap, a slow disk).
                let delay = if self.rng.gen_bool(self.settings.pause_chance) {
                    self.outcome.pauses += 1;
                    self.rng.gen_range(500..=4_000)
                } else {
                    self.rng.gen_range(1..=5)
                };
                let life = self.regions[r.0].life;
                self.at(
                    self.now + delay,
                    Event::Commit {
                        region: r,
                        life,
                        order,
                        epoch: h.epoch,
                    },
                );
            }
            _ => self.answer(r, order, Answer::Unavailable),
        }
    }

    /// Answers a buyer whose order this region already has a row for.
    fn answer_known(&mut self, r: Region, order: u64) {
        let sale = &self.regions[r.0].db.sales[&order];
        match sale.state {
            SaleState::Live => {
                if self.can_tell(r, order) {
                    self.tell(r, order);
                }
                // Otherwise the confirmation is still waiting for the other region.
            }
            SaleState::Void => self.answer(r, order, Answer::Refused),
            SaleState::Doubt | SaleState::Moved => self.answer(r, order, Answer::Unavailable),
        }
    }

    /// Whether region `r` may tell the buyer of a live order it is confirmed.
    fn can_tell(&self, r: Region, order: u64) -> bool {
        let region = &self.regions[r.0];
        let sale = &region.db.sales[&order];
        if sale.state != SaleState::Live {
            return false;
        }
        // A row that came from the other region is in both databases.
        if sale.by != r || sale.lsn.is_some_and(|lsn| lsn < region.db.acked) {
            return true;
        }
        region.asynchronous && self.lease_valid(r, group_of(sale.intent.trip))
    }

    fn tell(&mut self, r: Region, order: u64) {
        let region = &self.regions[r.0];
        let sale = &region.db.sales[&order];
        let synchronous = sale.by != r || sale.lsn.is_some_and(|lsn| lsn < region.db.acked);
        let group = group_of(sale.intent.trip);
        if !self.told.contains_key(&order) {
            let told = Told {
                at: self.now,
                by: r,
                synchronous,
                lease_truly_valid: self.truly_valid(r, group),
            };
            self.told.insert(order, told);
            if synchronous {
                self.outcome.confirmed_sync += 1;
            } else {
                self.outcome.confirmed_async += 1;
            }
        }
        self.answer(r, order, Answer::Confirmed);
    }

    fn commit(&mut self, r: Region, order: u64, epoch: u64) {
        let intent = self.intents[&order];
        let group = group_of(intent.trip);
        if self.fenced() && self.regions[r.0].db.homes[group] != (r, epoch) {
            self.answer(r, order, Answer::Unavailable);
            return;
        }
        if self.regions[r.0].db.sales.contains_key(&order) {
            self.answer_known(r, order);
            return;
        }
        let refunded = self.charges.get(&order).is_some_and(|c| c.refunded);
        if refunded || !self.regions[r.0].db.free_for(&intent) {
            self.answer(r, order, Answer::Refused);
            return;
        }
        self.write_sale(r, intent, epoch);
        if self.regions[r.0].asynchronous && self.lease_valid(r, group) {
            self.tell(r, order);
        }
    }

    /// Charges the order (once, whatever the retries) and writes its row.
    fn write_sale(&mut self, r: Region, intent: Intent, epoch: u64) {
        self.charges.entry(intent.order).or_default();
        let now = self.now;
        let region = &mut self.regions[r.0];
        let lsn = region.db.log.len();
        region.db.log.push(Entry::Sale { intent, epoch });
        region.db.sales.insert(
            intent.order,
            super::model::Sale {
                intent,
                by: r,
                state: SaleState::Live,
                lsn: Some(lsn),
            },
        );
        region.waiting.insert(lsn, (intent.order, now));
    }

    // ---- replication ------------------------------------------------------

    fn pump(&mut self, r: Region) {
        let other = r.other();
        let now = self.now;
        let region = &mut self.regions[r.0];
        if region.sent > region.db.acked && now - region.last_ack_progress > RESEND_AFTER_MS {
            region.sent = region.db.acked;
            region.last_ack_progress = now;
        }
        if !self.link_up(Node::Region(r), Node::Region(other)) {
            return;
        }
        let region = &mut self.regions[r.0];
        let from = region.sent;
        let to = region.db.log.len().min(from + ROWS_PER_PUMP);
        let rows: Vec<(usize, Entry)> = (from..to)
            .map(|lsn| (lsn, region.db.log[lsn].clone()))
            .collect();
        region.sent = to;
        for (lsn, entry) in rows {
            self.send(
                Node::Region(r),
                Node::Region(other),
                Msg::Replicate { lsn, entry },
            );
        }
    }

    /// Region `r` applies row `lsn` of the other region's stream.
    fn apply(&mut self, r: Region, lsn: usize, entry: Entry) {
        let other = r.other();
        let applied = self.regions[r.0].db.applied;
        if lsn < applied {
            // A resent row: answer as the first time.
            let accepted = !self.refused[r.0].contains_key(&lsn);
            self.send(
                Node::Region(r),
                Node::Region(other),
                Msg::Ack { lsn, accepted },
            );
            return;
        }
        if lsn > applied {
            return; // a gap: the stream is resent from the last acknowledged row
        }
        let fenced = self.fenced();
        let region = &mut self.regions[r.0];
        let accepted = match entry {
            Entry::Sale { intent, epoch } => {
                let group = group_of(intent.trip);
                if fenced && region.db.homes[group].1 > epoch {
                    false // written under an epoch this region has seen end
                } else {
                    region.db.sales.insert(
                        intent.order,
                        super::model::Sale {
                            intent,
                            by: other,
                            state: SaleState::Live,
                            lsn: None,
                        },
                    );
                    true
                }
            }
            Entry::Refund { order } => {
                if let Some(sale) = region.db.sales.get_mut(&order)
                    && sale.state != SaleState::Live
                {
                    sale.state = SaleState::Void;
                }
                true
            }
            Entry::Home {
                group,
                region: home,
                epoch,
            } => {
                if epoch > region.db.homes[group].1 {
                    region.db.homes[group] = (home, epoch);
                    if home != r {
                        region.held[group] = None;
                        // This region's own rows of that group that the new home may
                        // not have: re-apply them there, or refund them.
                        let acked = region.db.acked;
                        for sale in region.db.sales.values_mut() {
                            if sale.by == r
                                && group_of(sale.intent.trip) == group
                                && sale.state == SaleState::Live
                                && sale.lsn.is_some_and(|l| l >= acked)
                            {
                                sale.state = SaleState::Doubt;
                            }
                        }
                    }
                }
                true
            }
        };
        region.db.applied += 1;
        if !accepted {
            self.refused[r.0].insert(lsn, true);
        }
        self.send(
            Node::Region(r),
            Node::Region(other),
            Msg::Ack { lsn, accepted },
        );
    }

    /// The other region has processed row `lsn` of `r`'s stream.
    fn acked(&mut self, r: Region, lsn: usize, accepted: bool) {
        if lsn < self.regions[r.0].db.acked {
            return;
        }
        self.early_acks[r.0].insert(lsn, accepted);
        loop {
            let next = self.regions[r.0].db.acked;
            let Some(accepted) = self.early_acks[r.0].remove(&next) else {
                break;
            };
            let now = self.now;
            let region = &mut self.regions[r.0];
            region.db.acked += 1;
            region.last_ack_progress = now;
            let order = match &region.db.log[next] {
                Entry::Sale { intent, .. } => Some(intent.order),
                Entry::Home { .. } | Entry::Refund { .. } => None,
            };
            if let Some(order) = order
                && let Some(sale) = region.db.sales.get_mut(&order)
                && sale.by == r
                && sale.lsn == Some(next)
                && sale.state == SaleState::Live
                && !accepted
            {
                sale.state = SaleState::Doubt;
            }
            if let Some((order, _)) = region.waiting.remove(&next)
                && region.db.sales[&order].state == SaleState::Live
                && region.db.sales[&order].lsn == Some(next)
            {
                self.tell(r, order);
            }
        }
        let region = &mut self.regions[r.0];
        if region.asynchronous && region.db.acked == region.db.log.len() {
            region.asynchronous = false;
        }
    }

    /// Confirmations that waited too long for the other region go out asynchronously.
    fn check_waiting(&mut self, r: Region) {
        let now = self.now;
        let timeout = self.settings.sync_timeout_ms;
        let overdue: Vec<u64> = self.regions[r.0]
            .waiting
            .values()
            .filter(|(_, since)| now - since > timeout)
            .map(|(order, _)| *order)
            .collect();
        if overdue.is_empty() {
            return;
        }
        self.regions[r.0].asynchronous = true;
        for order in overdue {
            if !self.told.contains_key(&order) && self.can_tell(r, order) {
                self.tell(r, order);
            }
        }
    }

    // ---- the rejoin: rows in doubt ------------------------------------------

    fn reconcile(&mut self, r: Region) {
        let doubts: Vec<Intent> = self.regions[r.0]
            .db
            .sales
            .values()
            .filter(|s| s.by == r && s.state == SaleState::Doubt)
            .map(|s| s.intent)
            .collect();
        for intent in doubts {
            let (home, _) = self.regions[r.0].db.homes[group_of(intent.trip)];
            if home == r {
                self.reapply_here(r, r, intent);
            } else {
                self.send(Node::Region(r), Node::Region(home), Msg::Reapply { intent });
            }
        }
    }

    /// The home `h` takes an order from a region's doubtful rows: it keeps it
    /// if it has it, sells it if its seats are free, refunds it otherwise.
    fn reapply_here(&mut self, h: Region, origin: Region, intent: Intent) {
        let order = intent.order;
        let group = group_of(intent.trip);
        let (home, epoch) = self.regions[h.0].db.homes[group];
        let standing = self.regions[h.0]
            .db
            .sales
            .get(&order)
            .filter(|s| s.state == SaleState::Live)
            .map(|s| s.by);
        let verdict = if let Some(by) = standing {
            if by == origin {
                Verdict::Kept
            } else {
                Verdict::Sold
            }
        } else if home != h
            || !self.lease_valid(h, group)
            || self.regions[h.0].held[group].map(|x| x.epoch) != Some(epoch)
        {
            return; // not the home, or not now: the origin asks again
        } else if !self.charges.get(&order).is_some_and(|c| c.refunded)
            && self.regions[h.0].db.free_for(&intent)
        {
            self.write_sale(h, intent, epoch);
            self.outcome.reapplied += 1;
            Verdict::Sold
        } else {
            self.refund(h, order);
            Verdict::Refunded
        };
        if origin != h {
            let msg = Msg::Reapplied { order, verdict };
            self.send(Node::Region(h), Node::Region(origin), msg);
        }
    }

    /// The home refunds an order it cannot seat; copies of it elsewhere that
    /// are not standing learn of it by replication.
    fn refund(&mut self, h: Region, order: u64) {
        self.charges.entry(order).or_default().refunded = true;
        self.outcome.refunded_conflicts += 1;
        let db = &mut self.regions[h.0].db;
        if let Some(sale) = db.sales.get_mut(&order)
            && sale.state != SaleState::Live
        {
            sale.state = SaleState::Void;
        }
        db.log.push(Entry::Refund { order });
    }

    // ---- the witness ------------------------------------------------------

    fn witness(&mut self, r: Region, msg: Msg) {
        let ttl = self.settings.lease_ttl_ms;
        match msg {
            Msg::Renew {
                group,
                epoch,
                sent_local,
            } => {
                let lease = &mut self.leases[group];
                let reply = if lease.holder == r && lease.epoch == epoch {
                    lease.expires = self.now + ttl;
                    Msg::Renewed {
                        group,
                        epoch,
                        sent_local,
                    }
                } else {
                    Msg::Lost { group, epoch }
                };
                self.send(Node::Witness, Node::Region(r), reply);
            }
            Msg::Probe {
                holding,
                sent_local,
            } => {
                for (group, holds) in holding.into_iter().enumerate() {
                    let lease = self.leases[group];
                    if holds || self.now < lease.expires {
                        continue;
                    }
                    let epoch = lease.epoch + 1;
                    self.leases[group] = Lease {
                        holder: r,
                        epoch,
                        expires: self.now + ttl,
                    };
                    self.outcome.takeovers += 1;
                    let msg = Msg::Granted {
                        group,
                        epoch,
                        sent_local,
                    };
                    self.send(Node::Witness, Node::Region(r), msg);
                }
            }
            _ => {}
        }
    }

    fn granted(&mut self, r: Region, group: usize, epoch: u64, sent_local: f64) {
        let region = &mut self.regions[r.0];
        region.held[group] = Some(Held {
            epoch,
            renewed_local: sent_local,
        });
        if epoch > region.db.homes[group].1 {
            region.db.homes[group] = (r, epoch);
            region.db.log.push(Entry::Home {
                group,
                region: r,
                epoch,
            });
        }
    }

    // ---- timers and crashes ---------------------------------------------------

    fn start_timers(&mut self, r: Region) {
        for timer in [
            Timer::Renew,
            Timer::Probe,
            Timer::Pump,
            Timer::Reconcile,
            Timer::Waiting,
        ] {
            let first = self.now + self.interval(r, timer);
            let life = self.regions[r.0].life;
            self.at(
                first,
                Event::Tick {
                    region: r,
                    life,
                    timer,
                },
            );
        }
    }

    /// A timer's period in true time; the renewal is timed by the region's own clock.
    fn interval(&self, r: Region, timer: Timer) -> Time {
        match timer {
            Timer::Renew => {
                let local = self.settings.lease_renew_ms as f64;
                (local / (1.0 + self.regions[r.0].clock_rate)) as Time
            }
            Timer::Probe => self.settings.probe_ms,
            Timer::Pump => PUMP_MS,
            Timer::Reconcile => RECONCILE_MS,
            Timer::Waiting => WAITING_CHECK_MS,
        }
    }

    fn tick(&mut self, r: Region, timer: Timer) {
        match timer {
            Timer::Renew => {
                let sent_local = self.regions[r.0].local(self.now);
                for group in 0..2 {
                    if let Some(held) = self.regions[r.0].held[group] {
                        let msg = Msg::Renew {
                            group,
                            epoch: held.epoch,
                            sent_local,
                        };
                        self.send(Node::Region(r), Node::Witness, msg);
                    }
                }
            }
            Timer::Probe => {
                let region = &self.regions[r.0];
                let msg = Msg::Probe {
                    holding: [region.held[0].is_some(), region.held[1].is_some()],
                    sent_local: region.local(self.now),
                };
                self.send(Node::Region(r), Node::Witness, msg);
            }
            Timer::Pump => self.pump(r),
            Timer::Reconcile => self.reconcile(r),
            Timer::Waiting => self.check_waiting(r),
        }
        let next = self.now + self.interval(r, timer);
        let life = self.regions[r.0].life;
        self.at(
            next,
            Event::Tick {
                region: r,
                life,
                timer,
            },
        );
    }

    fn crash(&mut self, r: Region) {
        let region = &mut self.regions[r.0];
        region.up = false;
        region.life += 1;
        region.held = [None, None];
        region.asynchronous = false;
        region.waiting.clear();
        region.sent = region.db.acked;
        self.early_acks[r.0].clear();
    }
}
