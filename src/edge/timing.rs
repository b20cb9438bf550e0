//! `Server-Timing` on webhook answers in development builds (`debug_assertions`, which the
//! `wasm-dev` profile of `scripts/run.sh` turns on): how long each step of the pipeline took, and
//! how many D1 statements the request prepared (while it ran, in its isolate), to see where a
//! request's time goes (`curl -i`, or the browser's network panel).
//!
//! workerd advances its clock only across I/O, so what this shows is I/O wait (reading the body,
//! D1 on a cache miss, the queue send); CPU work between two I/O steps shows as 0 ms (the native
//! benchmarks, `cargo bench`, measure that). Release builds compile all of it away: the header is
//! never sent by what is tested or deployed.

use worker::Response;

/// The steps of one request, each with the time since the previous one, and the D1 statements
/// prepared meanwhile.
#[derive(Default)]
pub struct Timing {
    #[cfg(debug_assertions)]
    steps: std::cell::RefCell<Vec<(&'static str, u64)>>,
    #[cfg(debug_assertions)]
    last: std::cell::Cell<u64>,
    #[cfg(debug_assertions)]
    prepared_before: u64,
}

impl Timing {
    /// Starts timing now.
    pub fn start() -> Self {
        Timing {
            #[cfg(debug_assertions)]
            last: std::cell::Cell::new(super::runtime::now_millis()),
            #[cfg(debug_assertions)]
            prepared_before: super::store::d1::PREPARED.with(|prepared| prepared.get()),
            ..Timing::default()
        }
    }

    /// Ends step `name` now.
    pub fn mark(&self, _name: &'static str) {
        #[cfg(debug_assertions)]
        {
            let now = super::runtime::now_millis();
            let took = now.saturating_sub(self.last.replace(now));
            self.steps.borrow_mut().push((_name, took));
        }
    }

    /// Adds the `Server-Timing` header (development builds only; best effort).
    pub fn apply(&self, _response: &mut Response) {
        #[cfg(debug_assertions)]
        {
            let prepared = super::store::d1::PREPARED.with(|prepared| prepared.get());
            let statements = prepared.saturating_sub(self.prepared_before);
            let header = crate::core::timing::server_timing(&self.steps.borrow(), statements);
            let _ = _response.headers_mut().set("Server-Timing", &header);
        }
    }
}
