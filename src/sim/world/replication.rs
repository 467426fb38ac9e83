//! The replication streams between the regions (rows applied in order,
//! refused under an older epoch, acknowledged), confirmations waiting for
//! them, and the rejoin that settles a region's rows in doubt.

use super::*;

impl World {
    // ---- replication ------------------------------------------------------

    pub(super) fn pump(&mut self, r: Region) {
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
    pub(super) fn apply(&mut self, r: Region, lsn: usize, entry: Entry) {
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
                        Sale {
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
    pub(super) fn acked(&mut self, r: Region, lsn: usize, accepted: bool) {
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
    pub(super) fn check_waiting(&mut self, r: Region) {
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

    pub(super) fn reconcile(&mut self, r: Region) {
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
    pub(super) fn reapply_here(&mut self, h: Region, origin: Region, intent: Intent) {
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
    pub(super) fn refund(&mut self, h: Region, order: u64) {
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
}
