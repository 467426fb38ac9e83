//! A region's leases as it believes them, and its handling of buyers'
//! requests: forwarding to the home, the write under the lease's epoch, and
//! when a buyer may be told an order is confirmed.

use super::*;

impl World {
    // ---- leases, as a region believes them and as the witness knows them ----

    pub(super) fn lease_valid(&self, r: Region, group: usize) -> bool {
        let region = &self.regions[r.0];
        match region.held[group] {
            Some(held) => {
                let limit = (self.settings.lease_ttl_ms - self.settings.lease_margin_ms) as f64;
                region.local(self.now) - held.renewed_local < limit
            }
            None => false,
        }
    }

    pub(super) fn truly_valid(&self, r: Region, group: usize) -> bool {
        let lease = self.leases[group];
        lease.holder == r
            && self.now < lease.expires
            && self.regions[r.0].held[group].is_some_and(|h| h.epoch == lease.epoch)
    }

    pub(super) fn fenced(&self) -> bool {
        self.settings.sabotage != Sabotage::NoFence
    }

    // ---- a region's request handling ------------------------------------------

    pub(super) fn region_receives(&mut self, r: Region, from: Node, msg: Msg) {
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

    pub(super) fn book(&mut self, r: Region, order: u64, forwarded: bool) {
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
    pub(super) fn answer_known(&mut self, r: Region, order: u64) {
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
    pub(super) fn can_tell(&self, r: Region, order: u64) -> bool {
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

    pub(super) fn tell(&mut self, r: Region, order: u64) {
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

    pub(super) fn commit(&mut self, r: Region, order: u64, epoch: u64) {
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
    pub(super) fn write_sale(&mut self, r: Region, intent: Intent, epoch: u64) {
        self.charges.entry(intent.order).or_default();
        let now = self.now;
        let region = &mut self.regions[r.0];
        let lsn = region.db.log.len();
        region.db.log.push(Entry::Sale { intent, epoch });
        region.db.sales.insert(
            intent.order,
            Sale {
                intent,
                by: r,
                state: SaleState::Live,
                lsn: Some(lsn),
            },
        );
        region.waiting.insert(lsn, (intent.order, now));
    }
}
