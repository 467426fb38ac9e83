//! The integration suite as one test binary: every file below is a module, so
//! the library and its dependencies are linked once instead of once per file.
//!
//! Each module starts the real server (or the built `ticketctl` binary) on a
//! random port and talks to it as a client would.

#[macro_use]
mod common;

mod api_booking;
mod api_catalog;
mod api_counter;
mod api_docs;
mod api_identity;
mod api_limits;
mod api_queue;
mod audit_tampering;
mod cli;
mod client_address;
mod concurrent_operations;
mod crash_recovery;
mod drill_backup;
mod drill_gateway;
mod drill_kill9;
mod drill_nats;
mod drill_postgres;
mod drill_redis;
mod drill_sqlite_disk_full;
mod events_nats;
mod export_orders;
mod fuzz_requests;
mod hardening_booking;
mod hardening_edge;
mod hardening_identity;
mod invariant_checker;
mod json_logs;
mod metrics;
mod metrics_names;
mod metrics_room;
mod migration_events;
mod mock_gateway;
mod multi_region_drill;
mod multi_region_sim;
mod nid_limits;
mod nid_process;
mod nid_registration;
mod outbox_claims;
mod pci_boundary;
mod personal_data;
mod queue_concurrency;
mod queue_redis;
mod rate_limits_redis;
mod recovery;
mod regions;
mod rehearse_servers;
mod risk_concurrency;
mod risk_rules;
mod runbook;
mod scale_out;
mod search_facets;
mod seat_feed_postgres;
mod sms_delivery;
mod sms_process;
mod store_conformance;
mod store_sales;
mod tickets_audit_notify;
mod time_rules;
mod trip_cancel;
mod trip_delay;
mod trip_sale;
mod tui;
mod tui_tmux;
mod wallet_payments;
mod wallet_process;
mod web_accounts;
mod web_browser;
mod web_browser_queue;
mod web_pages;
