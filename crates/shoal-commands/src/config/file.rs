//! redis.conf syntax: the config file, the command line (`--name value ...`, which Redis reads
//! as more config lines), `include`, error reports that name the file and line, and CONFIG
//! REWRITE.

use std::path::{Path, PathBuf};

use super::table::{IMMUTABLE, MULTI_ARG, PARAMS, Param, find_param};
use super::{Config, values::check_save};

/// Where a directive came from, for error reports.
#[derive(Clone, Debug)]
pub enum Origin {
    File {
        path: String,
        line: usize,
        text: String,
    },
    CommandLine,
}

/// One `name arg...` line.
#[derive(Clone, Debug)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub origin: Origin,
}

impl Directive {
    fn line_text(&self) -> String {
        match &self.origin {
            Origin::File { text, .. } => text.clone(),
            Origin::CommandLine => {
                let mut s = format!("--{}", self.name);
                for a in &self.args {
                    s.push(' ');
                    s.push_str(&quote(a));
                }
                s
            }
        }
    }

    /// Redis's report of a bad directive: where, the line, why.
    pub fn error(&self, why: &str) -> String {
        let at = match &self.origin {
            Origin::File { path, line, .. } => {
                format!("Reading the configuration file {path}, at line {line}")
            }
            Origin::CommandLine => "Reading the command line".to_string(),
        };
        format!(
            "\n*** FATAL CONFIG FILE ERROR (shoal {}) ***\n{at}\n>>> '{}'\n{why}",
            env!("CARGO_PKG_VERSION"),
            self.line_text()
        )
    }
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// The directives of a config file's text; `include` lines pull other files in, in place.
pub fn parse_text(text: &str, path: &str) -> Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    parse_into(text, path, 0, &mut out)?;
    Ok(out)
}

fn parse_into(
    text: &str,
    path: &str,
    depth: usize,
    out: &mut Vec<Directive>,
) -> Result<(), String> {
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let origin = Origin::File {
            path: path.to_string(),
            line: n + 1,
            text: line.to_string(),
        };
        let words = match shoal_resp::split_args(line.as_bytes()) {
            Ok(w) => w,
            Err(_) => {
                let d = Directive {
                    name: String::new(),
                    args: Vec::new(),
                    origin,
                };
                return Err(d.error("Unbalanced quotes in configuration line"));
            }
        };
        let mut words = words
            .into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned());
        let Some(name) = words.next() else { continue };
        let d = Directive {
            name: name.to_ascii_lowercase(),
            args: words.collect(),
            origin,
        };
        if d.name == "include" {
            let [file] = d.args.as_slice() else {
                return Err(d.error("wrong number of arguments"));
            };
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(d.error("too many nested includes"));
            }
            let inc = std::fs::read_to_string(file)
                .map_err(|e| d.error(&format!("can't open included file '{file}': {e}")))?;
            parse_into(&inc, file, depth + 1, out)?;
            continue;
        }
        out.push(d);
    }
    Ok(())
}

/// Command-line directives: `--name arg...`, each running until the next `--name`.
pub fn parse_argv(args: &[String]) -> Result<Vec<Directive>, String> {
    let mut out: Vec<Directive> = Vec::new();
    for a in args {
        if let Some(name) = a.strip_prefix("--")
            && !name.is_empty()
        {
            out.push(Directive {
                name: name.to_ascii_lowercase(),
                args: Vec::new(),
                origin: Origin::CommandLine,
            });
            continue;
        }
        match out.last_mut() {
            Some(d) => d.args.push(a.clone()),
            None => {
                return Err(format!(
                    "'{a}': options start with -- (shoal-server [config-file] [--name value ...])"
                ));
            }
        }
    }
    Ok(out)
}

/// Directives only redis.conf has, which shoal cannot honour yet: refused, not ignored.
fn unsupported_directive(name: &str) -> Option<&'static str> {
    Some(match name {
        "rename-command" => "rename-command is not supported yet",
        "loadmodule" => "modules are not supported",
        "sentinel" => "sentinel mode is not supported",
        _ => return None,
    })
}

/// Applies directives in order (a later one wins, as in Redis). Several `save` lines add up.
pub fn apply(cfg: &mut Config, ds: &[Directive]) -> Result<(), String> {
    let mut saves: Option<String> = None;
    for d in ds {
        // `user <name> <rules...>`: loaded once the configuration is read (see
        // `families::acl::load_at_start`).
        if d.name == "user" {
            if d.args.is_empty() {
                return Err(d.error("wrong number of arguments"));
            }
            cfg.users.push(d.args.clone());
            continue;
        }
        if let Some(why) = unsupported_directive(&d.name) {
            return Err(d.error(why));
        }
        let Some(p) = find_param(&d.name) else {
            return Err(d.error("Bad directive or wrong number of arguments"));
        };
        let value = if p.is(MULTI_ARG) {
            d.args.join(" ")
        } else {
            match d.args.as_slice() {
                [v] => v.clone(),
                _ => return Err(d.error("wrong number of arguments")),
            }
        };
        let value = if p.name == "save" {
            // The first `save` line replaces the default, later ones add points.
            let v = check_save(&value).map_err(|e| d.error(&e))?;
            let all = match saves.take() {
                Some(prev) if !v.is_empty() && !prev.is_empty() => format!("{prev} {v}"),
                _ => v,
            };
            saves = Some(all.clone());
            all
        } else {
            value
        };
        cfg.set(p, &value).map_err(|e| d.error(&e))?;
    }
    Ok(())
}

/// The configuration of a process started with `args` (without the program name):
/// `[config-file | -] [--name value ...]`, the command line winning over the file.
pub fn load(args: &[String]) -> Result<Config, String> {
    let mut cfg = Config::default();
    let mut rest = args;
    let mut directives = Vec::new();
    if let Some(first) = args.first()
        && !first.starts_with("--")
    {
        let text = if first == "-" {
            std::io::read_to_string(std::io::stdin())
                .map_err(|e| format!("can't read the configuration from standard input: {e}"))?
        } else {
            std::fs::read_to_string(first)
                .map_err(|e| format!("can't open config file '{first}': {e}"))?
        };
        directives = parse_text(&text, first)?;
        if first != "-" {
            cfg.config_file = Some(std::path::absolute(first).unwrap_or_else(|_| first.into()));
        }
        rest = &args[1..];
    }
    directives.extend(parse_argv(rest)?);
    apply(&mut cfg, &directives)?;
    Ok(cfg)
}

/// Redis's quoting of a config value: bare when it is a plain word, else in double quotes with
/// escapes.
pub fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\' | b'#'));
    if plain {
        return v.to_string();
    }
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The lines that set `p` to its value in `cfg`.
fn lines_for(p: &Param, cfg: &Config) -> Vec<String> {
    let v = cfg.get(p);
    match p.name {
        "save" if !v.is_empty() => {
            let w: Vec<&str> = v.split_whitespace().collect();
            w.chunks(2)
                .map(|c| format!("save {}", c.join(" ")))
                .collect()
        }
        "client-output-buffer-limit" => {
            let w: Vec<&str> = v.split_whitespace().collect();
            w.chunks(4)
                .map(|c| format!("client-output-buffer-limit {}", c.join(" ")))
                .collect()
        }
        _ if p.is(MULTI_ARG) && !v.is_empty() => {
            let words: Vec<String> = v.split_whitespace().map(quote).collect();
            vec![format!("{} {}", p.name, words.join(" "))]
        }
        _ => vec![format!("{} {}", p.name, quote(&v))],
    }
}

/// CONFIG REWRITE: the file keeps its comments, unknown lines and order; each parameter's first
/// line is replaced by its current value (later duplicates dropped); parameters that differ from
/// their default and were not in the file are appended. Written to a temporary file, synced,
/// then renamed over the old one.
///
/// `users` are the `user <name> <rules>` lines of every ACL user (ACL LIST): as Redis's
/// rewriteConfigUserOption, they take the place of the file's `user` lines (more are appended),
/// unless an `aclfile` holds the users, in which case the file's `user` lines are dropped.
pub fn rewrite(cfg: &Config, path: &Path, users: &[String]) -> Result<(), String> {
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("Rewriting config file: {e}")),
    };
    let defaults = Config::default();
    let mut out: Vec<String> = Vec::new();
    let mut done: std::collections::HashSet<&'static str> = Default::default();
    let mut users = users.iter().filter(|_| cfg.aclfile.is_empty());
    const MARK: &str = "# Generated by CONFIG REWRITE";
    for raw in old.lines() {
        if raw.trim() == MARK {
            continue;
        }
        let first = raw.split_whitespace().next().unwrap_or("");
        if first.eq_ignore_ascii_case("user") {
            if cfg.aclfile.is_empty()
                && let Some(u) = users.next()
            {
                out.push(u.clone());
            }
            continue;
        }
        let p = (!raw.trim_start().starts_with('#'))
            .then(|| find_param(first))
            .flatten();
        match p {
            Some(p) if done.contains(p.name) => {}
            Some(p) => {
                done.insert(p.name);
                out.extend(lines_for(p, cfg));
            }
            None => out.push(raw.to_string()),
        }
    }
    let mut added = false;
    let mut mark = |out: &mut Vec<String>| {
        if !added {
            while out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
            out.push(MARK.to_string());
            added = true;
        }
    };
    for p in PARAMS {
        if done.contains(p.name) || cfg.get(p) == defaults.get(p) {
            continue;
        }
        mark(&mut out);
        out.extend(lines_for(p, cfg));
    }
    for u in users {
        mark(&mut out);
        out.push(u.clone());
    }
    let mut text = out.join("\n");
    text.push('\n');
    let tmp: PathBuf = {
        let mut t = path.as_os_str().to_owned();
        t.push(format!(".tmp-{}", std::process::id()));
        t.into()
    };
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("Rewriting config file: {e}")
    })
}

/// Whether `p` can be changed while running.
pub fn mutable(p: &Param) -> bool {
    !p.is(IMMUTABLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_takes_redis_syntax() {
        let c = load(&args(&[
            "--port",
            "7000",
            "--bind",
            "127.0.0.1",
            "::1",
            "--save",
            "",
            "--slowlog-log-slower-than",
            "-1",
            "--hash-max-ziplist-entries",
            "64",
            "--shards",
            "64",
            "--threads",
            "2",
        ]))
        .unwrap();
        assert_eq!((c.port, c.shards, c.threads), (7000, 64, 2));
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.slowlog_log_slower_than, -1);
        assert_eq!(c.encoding.hash_entries, 64);
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        let e = load(&args(&["--port", "99999"])).unwrap_err();
        assert!(e.contains(">>> '--port 99999'"), "{e}");
        assert!(
            e.contains("argument must be between 0 and 65535 inclusive"),
            "{e}"
        );
        let e = load(&args(&["--nosuch", "1"])).unwrap_err();
        assert!(
            e.contains("Bad directive or wrong number of arguments"),
            "{e}"
        );
        let e = load(&args(&["--port", "1", "2"])).unwrap_err();
        assert!(e.contains("wrong number of arguments"), "{e}");
        let e = load(&args(&["--appendonly", "yes"])).unwrap_err();
        assert!(e.contains("append-only"), "{e}");
        assert!(load(&args(&["7000"])).is_err());
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("shoal-conf-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn config_file_then_flags_with_include_and_line_numbers() {
        let dir = temp_dir("file");
        let inc = dir.join("inc.conf");
        std::fs::write(&inc, "maxclients 77\n").unwrap();
        let p = dir.join("shoal.conf");
        std::fs::write(
            &p,
            format!(
                "# comment\nport 7001\nsave \"\"\nrequirepass \"a b\"\ndatabases 8\ninclude {}\nbind 127.0.0.1 -::1\nclient-output-buffer-limit normal 0 0 0\nclient-output-buffer-limit replica 256mb 64mb 60\n",
                inc.display()
            ),
        )
        .unwrap();
        let c = load(&args(&[p.to_str().unwrap(), "--port", "7002"])).unwrap();
        assert_eq!((c.port, c.databases, c.maxclients), (7002, 8, 77));
        assert_eq!(c.requirepass.as_deref(), Some("a b"));
        assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
        std::fs::write(&p, "port 7001\n\nport abc\n").unwrap();
        let e = load(&args(&[p.to_str().unwrap()])).unwrap_err();
        assert!(e.contains("shoal.conf, at line 3"), "{e}");
        assert!(e.contains(">>> 'port abc'"), "{e}");
        assert!(
            e.contains("argument couldn't be parsed into an integer"),
            "{e}"
        );
        std::fs::write(&p, "rename-command FLUSHALL \"\"\n").unwrap();
        let e = load(&args(&[p.to_str().unwrap()])).unwrap_err();
        assert!(e.contains("not supported"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn debian_stock_redis_conf_is_accepted() {
        let c = load(&args(&[
            "../../tests/assets/debian-redis.conf",
            "--daemonize",
            "no",
        ]));
        let c = c.unwrap();
        assert_eq!(c.bind, vec!["127.0.0.1", "-::1"]);
        assert_eq!(c.pidfile, "/run/redis/redis-server.pid");
    }

    #[test]
    fn rewrite_keeps_comments_and_updates_values() {
        let dir = temp_dir("rewrite");
        let p = dir.join("r.conf");
        std::fs::write(&p, "# keep me\nport 7001\nmaxclients 10\nmaxclients 20\n").unwrap();
        let mut c = load(&args(&[p.to_str().unwrap()])).unwrap();
        c.maxclients = 30;
        c.timeout = 5;
        rewrite(&c, &p, &[]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "# keep me\nport 7001\nmaxclients 30\n# Generated by CONFIG REWRITE\ntimeout 5\n"
        );
        let c2 = load(&args(&[p.to_str().unwrap()])).unwrap();
        assert_eq!((c2.maxclients, c2.timeout), (30, 5));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn rewrite_puts_the_acl_users_in_place_of_the_user_lines() {
        let dir = temp_dir("rewrite-users");
        let p = dir.join("r.conf");
        let users = [
            "user alice on nopass ~a:* &* +@all".to_string(),
            "user bob off resetchannels -@all".to_string(),
            "user default on nopass ~* &* +@all".to_string(),
        ];
        // Existing user lines are replaced in place, the rest appended.
        std::fs::write(&p, "user old on nopass\nport 7001\nuser gone off\n").unwrap();
        let c = load(&args(&[p.to_str().unwrap()])).unwrap();
        assert_eq!(c.users.len(), 2);
        rewrite(&c, &p, &users).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            format!(
                "{}\nport 7001\n{}\n# Generated by CONFIG REWRITE\n{}\n",
                users[0], users[1], users[2]
            )
        );
        // Read back, the lines give the same users.
        let c2 = load(&args(&[p.to_str().unwrap()])).unwrap();
        assert_eq!(c2.users.len(), 3);
        assert_eq!(c2.users[1], args(&["bob", "off", "resetchannels", "-@all"]));
        // With an aclfile the users live there: the config file loses its user lines.
        std::fs::write(&p, "user old on nopass\nport 7001\n").unwrap();
        let mut c = load(&args(&[p.to_str().unwrap()])).unwrap();
        c.aclfile = "/nonexistent/users.acl".into();
        rewrite(&c, &p, &users).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("user "), "{text}");
        assert!(text.starts_with("port 7001\n"), "{text}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn quoting_round_trips() {
        for v in ["plain", "", "a b", "q\"x", "{title} {listen-addr}"] {
            let line = format!("x {}", quote(v));
            let w = shoal_resp::split_args(line.as_bytes()).unwrap();
            assert_eq!(w.len(), 2, "{v}");
            assert_eq!(&w[1][..], v.as_bytes());
        }
    }
}
