//! ACL LOG: refused commands and failed AUTHs, newest first; a repeat of an entry (same
//! reason, context, object and user within 60 seconds) bumps its count, as Redis.

use std::collections::VecDeque;

use parking_lot::Mutex;

use super::{Context, Denied};

#[derive(Clone, Debug)]
pub struct Entry {
    pub count: u64,
    pub reason: &'static str,
    pub context: &'static str,
    pub object: String,
    pub username: String,
    /// Unix ms of the last occurrence.
    pub ctime: u64,
    pub client_info: String,
}

#[derive(Default)]
pub struct AclLog {
    entries: Mutex<VecDeque<Entry>>,
}

/// Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA.
const GROUPING_MS: u64 = 60_000;

impl AclLog {
    pub fn add(
        &self,
        reason: Denied,
        ctx: Context,
        object: &str,
        username: &str,
        client_info: String,
        max_len: u64,
    ) {
        let now = crate::ctx::unix_ms();
        let mut e = self.entries.lock();
        let found = e.iter().position(|x| {
            x.reason == reason.reason()
                && x.context == ctx.name()
                && x.object == object
                && x.username == username
                && now.saturating_sub(x.ctime) <= GROUPING_MS
        });
        match found {
            Some(i) => {
                if let Some(mut x) = e.remove(i) {
                    x.count += 1;
                    x.ctime = now;
                    x.client_info = client_info;
                    e.push_front(x);
                }
            }
            None => e.push_front(Entry {
                count: 1,
                reason: reason.reason(),
                context: ctx.name(),
                object: object.to_string(),
                username: username.to_string(),
                ctime: now,
                client_info,
            }),
        }
        e.truncate(max_len as usize);
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }

    /// The newest `n` entries.
    pub fn newest(&self, n: usize) -> Vec<Entry> {
        self.entries.lock().iter().take(n).cloned().collect()
    }

    pub fn trim(&self, max_len: u64) {
        self.entries.lock().truncate(max_len as usize);
    }
}
