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
    Charge, Db, Entry, Held, Intent, Lease, Region, RegionState, Sale, SaleState, Time, Told,
    group_of,
};
use super::{Outcome, Sabotage, Settings};

mod replication;
mod witness;
mod writes;

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
