//! The witness's leases: renewals, takeovers with a new epoch, and a region
//! learning it holds one.

use super::*;

impl World {
    // ---- the witness ------------------------------------------------------

    pub(super) fn witness(&mut self, r: Region, msg: Msg) {
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

    pub(super) fn granted(&mut self, r: Region, group: usize, epoch: u64, sent_local: f64) {
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
}
