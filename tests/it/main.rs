//! The one integration-test binary: each module drives the real `route`
//! binary against local mock providers (dev/mock) speaking each provider's
//! wire format.

mod ask;
mod attachments;
mod bad_input;
mod bench_smoke;
mod compare;
mod continuation;
mod conversation;
mod cost;
mod docs;
mod generated;
mod init;
mod models;
mod output;
mod processes;
mod providers;
mod refusal;
mod reliability;
mod router;
mod schema;
mod secrets;
mod snapshots;
mod support;
