//! MEMORY STATS and MEMORY DOCTOR: Redis's getMemoryOverheadData and getMemoryDoctorReport over
//! what shoal counts (the counting allocator, jemalloc's own statistics, the shards' tables,
//! client buffers, the replication backlog and the script caches).

use std::sync::atomic::Ordering::Relaxed;

use shoal_resp::Reply;
use shoal_store::mem;

use crate::ctx::Shared;

/// One database's table overhead.
pub struct DbOverhead {
    pub db: usize,
    pub main: u64,
}

/// Redis's struct redisMemOverhead, as far as shoal has its numbers.
pub struct Overhead {
    pub peak_allocated: u64,
    pub total_allocated: u64,
    pub startup_allocated: u64,
    pub repl_backlog: u64,
    pub clients_slaves: u64,
    pub clients_normal: u64,
    pub lua_caches: u64,
    pub functions_caches: u64,
    pub dbs: Vec<DbOverhead>,
    pub overhead_total: u64,
    pub total_keys: u64,
    pub bytes_per_key: u64,
    pub dataset: u64,
    pub dataset_perc: f32,
    pub peak_perc: f32,
    pub allocator_allocated: u64,
    pub allocator_active: u64,
    pub allocator_resident: u64,
    pub rss: u64,
    pub normal_clients: u64,
    pub cached_scripts: u64,
}

fn ratio(a: u64, b: u64) -> f32 {
    if b == 0 { 0.0 } else { a as f32 / b as f32 }
}

impl Overhead {
    /// `tables`: (database, keys, table bytes) of every database.
    pub fn collect(sh: &Shared, rss: u64, tables: &[(usize, u64, u64)]) -> Overhead {
        let total = mem::used() as u64;
        let peak = mem::note_peak() as u64;
        let startup = sh.startup_memory;
        let repl_backlog = sh
            .repl
            .backlog
            .lock()
            .as_ref()
            .map_or(0, |b| b.size() as u64);
        let mut clients_normal = 0u64;
        let mut normal_clients = 0u64;
        for c in sh.clients.iter() {
            clients_normal +=
                (c.qbuf.load(Relaxed) + c.qbuf_free.load(Relaxed) + c.omem.load(Relaxed)) as u64;
            normal_clients += 1;
        }
        let lua_caches = sh.scripts.cache_bytes.load(Relaxed) as u64;
        let mut dbs = Vec::new();
        let mut total_keys = 0u64;
        let mut table_bytes = 0u64;
        for &(db, keys, main) in tables {
            if keys > 0 {
                total_keys += keys;
                table_bytes += main;
                dbs.push(DbOverhead { db, main });
            }
        }
        let overhead_total = startup + repl_backlog + clients_normal + lua_caches + table_bytes;
        let net = total.saturating_sub(startup);
        let dataset = total.saturating_sub(overhead_total);
        let alloc = mem::allocator_stats().unwrap_or_default();
        Overhead {
            peak_allocated: peak,
            total_allocated: total,
            startup_allocated: startup,
            repl_backlog,
            clients_slaves: 0,
            clients_normal,
            lua_caches,
            functions_caches: 0,
            dbs,
            overhead_total,
            total_keys,
            bytes_per_key: net.checked_div(total_keys).unwrap_or(0),
            dataset,
            dataset_perc: if net > 0 {
                dataset as f32 * 100.0 / net as f32
            } else {
                0.0
            },
            peak_perc: if peak > 0 {
                total as f32 * 100.0 / peak as f32
            } else {
                0.0
            },
            allocator_allocated: alloc.allocated,
            allocator_active: alloc.active,
            allocator_resident: alloc.resident,
            rss,
            normal_clients,
            cached_scripts: sh.scripts.count() as u64,
        }
    }

    fn allocator_frag(&self) -> (f32, u64) {
        (
            ratio(self.allocator_active, self.allocator_allocated),
            self.allocator_active
                .saturating_sub(self.allocator_allocated),
        )
    }

    fn allocator_rss(&self) -> (f32, u64) {
        (
            ratio(self.allocator_resident, self.allocator_active),
            self.allocator_resident
                .saturating_sub(self.allocator_active),
        )
    }

    fn rss_extra(&self) -> (f32, u64) {
        (
            ratio(self.rss, self.allocator_resident),
            self.rss.saturating_sub(self.allocator_resident),
        )
    }

    fn total_frag(&self) -> (f32, u64) {
        (
            ratio(self.rss, self.total_allocated),
            self.rss.saturating_sub(self.total_allocated),
        )
    }

    /// The MEMORY STATS reply, with Redis's fields in Redis's order.
    pub fn write(&self, out: &mut Reply) {
        out.map(27 + self.dbs.len());
        let int = |out: &mut Reply, k: &str, v: u64| {
            out.bulk(k.as_bytes());
            out.int(v as i64);
        };
        let dbl = |out: &mut Reply, k: &str, v: f32| {
            out.bulk(k.as_bytes());
            out.double(v as f64);
        };
        int(out, "peak.allocated", self.peak_allocated);
        int(out, "total.allocated", self.total_allocated);
        int(out, "startup.allocated", self.startup_allocated);
        int(out, "replication.backlog", self.repl_backlog);
        int(out, "clients.slaves", self.clients_slaves);
        int(out, "clients.normal", self.clients_normal);
        int(out, "cluster.links", 0);
        int(out, "aof.buffer", 0);
        int(out, "lua.caches", self.lua_caches);
        int(out, "functions.caches", self.functions_caches);
        for d in &self.dbs {
            out.bulk(format!("db.{}", d.db).as_bytes());
            out.map(3);
            int(out, "overhead.hashtable.main", d.main);
            int(out, "overhead.hashtable.expires", 0);
            int(out, "overhead.hashtable.slot-to-keys", 0);
        }
        int(out, "overhead.total", self.overhead_total);
        int(out, "keys.count", self.total_keys);
        int(out, "keys.bytes-per-key", self.bytes_per_key);
        int(out, "dataset.bytes", self.dataset);
        dbl(out, "dataset.percentage", self.dataset_perc);
        dbl(out, "peak.percentage", self.peak_perc);
        int(out, "allocator.allocated", self.allocator_allocated);
        int(out, "allocator.active", self.allocator_active);
        int(out, "allocator.resident", self.allocator_resident);
        let (r, b) = self.allocator_frag();
        dbl(out, "allocator-fragmentation.ratio", r);
        int(out, "allocator-fragmentation.bytes", b);
        let (r, b) = self.allocator_rss();
        dbl(out, "allocator-rss.ratio", r);
        int(out, "allocator-rss.bytes", b);
        let (r, b) = self.rss_extra();
        dbl(out, "rss-overhead.ratio", r);
        int(out, "rss-overhead.bytes", b);
        let (r, b) = self.total_frag();
        dbl(out, "fragmentation", r);
        int(out, "fragmentation.bytes", b);
    }

    /// Redis's getMemoryDoctorReport.
    pub fn doctor(&self, allocator: &str) -> String {
        const MB10: u64 = 10 << 20;
        let mut reports = 0;
        let empty = self.total_allocated < 5 * 1024 * 1024;
        let (mut big_peak, mut high_frag, mut high_alloc_frag) = (false, false, false);
        let (mut high_alloc_rss, mut high_proc_rss, mut big_client_buf) = (false, false, false);
        let mut many_scripts = false;
        if empty {
            reports += 1;
        } else {
            big_peak = ratio(self.peak_allocated, self.total_allocated) > 1.5;
            let (r, b) = self.total_frag();
            high_frag = r > 1.4 && b > MB10;
            let (r, b) = self.allocator_frag();
            high_alloc_frag = r > 1.1 && b > MB10;
            let (r, b) = self.allocator_rss();
            high_alloc_rss = r > 1.1 && b > MB10;
            let (r, b) = self.rss_extra();
            high_proc_rss = r > 1.1 && b > MB10;
            big_client_buf = self.clients_normal / self.normal_clients.max(1) > 1024 * 200;
            many_scripts = self.cached_scripts > 1000;
            reports += [
                big_peak,
                high_frag,
                high_alloc_frag,
                high_alloc_rss,
                high_proc_rss,
                big_client_buf,
                many_scripts,
            ]
            .iter()
            .filter(|x| **x)
            .count();
        }
        if reports == 0 {
            return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
        }
        if empty {
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
        }
        let mut s = String::from(
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n",
        );
        if big_peak {
            s.push_str(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
        }
        if high_frag {
            s.push_str(&format!(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"{allocator}\".\n\n"));
        }
        if high_alloc_frag {
            s.push_str(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
        }
        if high_alloc_rss {
            s.push_str(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
        }
        if high_proc_rss {
            s.push_str(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
        }
        if big_client_buf {
            s.push_str(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
        }
        if many_scripts {
            s.push_str(" * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n");
        }
        s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(total: u64, peak: u64) -> Overhead {
        Overhead {
            peak_allocated: peak,
            total_allocated: total,
            startup_allocated: 1 << 20,
            repl_backlog: 0,
            clients_slaves: 0,
            clients_normal: 0,
            lua_caches: 0,
            functions_caches: 0,
            dbs: vec![DbOverhead { db: 0, main: 1000 }],
            overhead_total: (1 << 20) + 1000,
            total_keys: 10,
            bytes_per_key: 0,
            dataset: 0,
            dataset_perc: 0.0,
            peak_perc: 0.0,
            allocator_allocated: total,
            allocator_active: total,
            allocator_resident: total,
            rss: total,
            normal_clients: 1,
            cached_scripts: 0,
        }
    }

    #[test]
    fn doctor_follows_redis_thresholds() {
        assert!(
            sample(1 << 20, 1 << 20)
                .doctor("x")
                .starts_with("Hi Sam, this instance is empty")
        );
        assert!(
            sample(100 << 20, 100 << 20)
                .doctor("x")
                .starts_with("Hi Sam, I can't find any memory issue")
        );
        let r = sample(100 << 20, 200 << 20).doctor("x");
        assert!(r.starts_with("Sam, I detected a few issues"), "{r}");
        assert!(r.contains(" * Peak memory:"));
        assert!(r.ends_with("I'm here to keep you safe, Sam. I want to help you.\n"));
        let mut frag = sample(100 << 20, 100 << 20);
        frag.rss = 200 << 20;
        let r = frag.doctor("jemalloc-5.3.0");
        assert!(
            r.contains("The currently used allocator is \"jemalloc-5.3.0\"."),
            "{r}"
        );
        assert!(r.contains(" * High process RSS overhead:"));
    }

    #[test]
    fn stats_reply_has_redis_fields_in_order() {
        let mut out = Reply::new();
        sample(100 << 20, 100 << 20).write(&mut out);
        let text = String::from_utf8_lossy(&out.buf).into_owned();
        // 27 fields and one database, as a RESP2 flat array.
        assert!(
            text.starts_with("*56\r\n$14\r\npeak.allocated\r\n"),
            "{text}"
        );
        let at = |k: &str| {
            text.find(&format!("\r\n{k}\r\n"))
                .unwrap_or_else(|| panic!("{k}"))
        };
        assert!(at("functions.caches") < at("db.0"));
        assert!(at("db.0") < at("overhead.total"));
        assert!(at("allocator.resident") < at("fragmentation.bytes"));
    }
}
