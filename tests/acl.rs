//! ACL users against the real binary: AUTH/HELLO, requirepass, SETUSER rules and their
//! enforcement (commands, keys, channels; MULTI/EXEC, scripts), ACL LOG, DELUSER, the ACL
//! file and `user` directives.
mod common;
use common::*;
use redis::{ConnectionLike, Value};

fn login(s: &ServerProcess, user: &str, pass: &str) -> redis::Connection {
    let mut c = conn(s);
    ok(&mut c, &["AUTH", user, pass]);
    c
}

fn map_get<'a>(v: &'a Value, key: &str) -> &'a Value {
    let items: Vec<(&Value, &Value)> = match v {
        Value::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
        Value::Array(a) => a.chunks(2).map(|p| (&p[0], &p[1])).collect(),
        _ => panic!("not a map: {v:?}"),
    };
    items
        .into_iter()
        .find(|(k, _)| **k == Value::BulkString(key.as_bytes().to_vec()))
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key} in {v:?}"))
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

#[test]
fn users_passwords_and_auth() {
    let s = server(&[]);
    let mut c = conn(&s);
    assert_eq!(q::<String>(&mut c, &["ACL", "WHOAMI"]), "default");
    assert_eq!(
        e(&mut c, &["AUTH", "foo"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    ok(&mut c, &["ACL", "SETUSER", "newuser"]);
    // New users start disabled.
    assert_eq!(
        e(&mut c, &["AUTH", "newuser", "passwd1"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    ok(
        &mut c,
        &[
            "ACL", "SETUSER", "newuser", "on", ">passwd1", ">passwd2", "+@all",
        ],
    );
    let mut u = login(&s, "newuser", "passwd2");
    assert_eq!(q::<String>(&mut u, &["ACL", "WHOAMI"]).as_str(), "newuser");
    ok(&mut c, &["ACL", "SETUSER", "newuser", "<passwd1"]);
    assert!(e(&mut conn(&s), &["AUTH", "newuser", "passwd1"]).starts_with("WRONGPASS"));
    assert_eq!(
        e(&mut c, &["ACL", "SETUSER", "newuser", "<nope"]),
        "ERR Error in ACL SETUSER modifier '<nope': The password you are trying to remove from the user does not exist"
    );
    // Hashes: the one of "passwd4".
    let h = "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6";
    ok(&mut c, &["ACL", "SETUSER", "newuser", &format!("#{h}")]);
    login(&s, "newuser", "passwd4");
    let gu = v(&mut c, &["ACL", "GETUSER", "newuser"]);
    assert!(format!("{:?}", map_get(&gu, "passwords")).contains(h));
    assert_eq!(
        e(&mut c, &["ACL", "SETUSER", "newuser", "#abc"]),
        "ERR Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
    );
    assert_eq!(
        e(&mut c, &["ACL", "SETUSER", "a b"]),
        "ERR Usernames can't contain spaces or null characters"
    );
    // HELLO AUTH.
    let mut h3 = conn(&s);
    let hello = v(&mut h3, &["HELLO", "2", "AUTH", "newuser", "passwd4"]);
    assert!(format!("{hello:?}").contains("proto"));
    assert_eq!(q::<String>(&mut h3, &["ACL", "WHOAMI"]), "newuser");
    assert!(e(&mut conn(&s), &["HELLO", "2", "AUTH", "newuser", "bad"]).starts_with("WRONGPASS"));
    // CLIENT LIST shows the user; CLIENT KILL USER takes it.
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains("user=newuser"), "{list}");
    assert_eq!(
        e(&mut c, &["CLIENT", "KILL", "USER", "nosuch"]),
        "ERR No such user 'nosuch'"
    );
    assert!(q::<i64>(&mut c, &["CLIENT", "KILL", "USER", "newuser"]) >= 2);
    // Off: no new logins.
    ok(&mut c, &["ACL", "SETUSER", "newuser", "off"]);
    assert!(e(&mut conn(&s), &["AUTH", "newuser", "passwd4"]).starts_with("WRONGPASS"));
    // Wrong passwords are in ACL LOG.
    let log = v(&mut c, &["ACL", "LOG", "1"]);
    let Value::Array(entries) = &log else {
        panic!("{log:?}")
    };
    assert_eq!(text(map_get(&entries[0], "reason")), "auth");
    assert_eq!(text(map_get(&entries[0], "username")), "newuser");
    assert_eq!(text(map_get(&entries[0], "object")), "AUTH");
}

#[test]
fn requirepass_is_the_default_users_password() {
    let s = server(&["--requirepass", "foobar"]);
    let mut c = conn(&s);
    assert_eq!(
        e(&mut c, &["SET", "k", "v"]),
        "NOAUTH Authentication required."
    );
    assert!(e(&mut c, &["AUTH", "wrong"]).starts_with("WRONGPASS"));
    ok(&mut c, &["AUTH", "foobar"]);
    ok(&mut c, &["AUTH", "default", "foobar"]);
    let list: Vec<String> = q(&mut c, &["ACL", "LIST"]);
    assert!(list[0].starts_with("user default on #"), "{list:?}");
    // CONFIG SET requirepass "" makes the default user nopass again.
    ok(&mut c, &["CONFIG", "SET", "requirepass", ""]);
    let list: Vec<String> = q(&mut c, &["ACL", "LIST"]);
    assert_eq!(list[0], "user default on nopass ~* &* +@all");
    let mut fresh = conn(&s);
    ok(&mut fresh, &["SET", "k", "v"]);
    // A default user switched off: new connections start unauthenticated.
    ok(&mut c, &["ACL", "SETUSER", "default", "off"]);
    assert_eq!(
        e(&mut conn(&s), &["PING"]),
        "NOAUTH Authentication required."
    );
    ok(&mut c, &["ACL", "SETUSER", "default", "on"]);
}

#[test]
fn commands_keys_and_channels_are_enforced() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "u",
            "on",
            "nopass",
            "~foo*",
            "%R~ro*",
            "&chan*",
            "-@all",
            "+@string",
            "+@list",
            "-setrange",
            "+publish",
            "+subscribe",
            "+psubscribe",
            "+multi",
            "+exec",
            "+eval",
            "+client|id",
            "+mget",
        ],
    );
    let mut u = login(&s, "u", "x");
    ok(&mut u, &["SET", "foo1", "v"]);
    assert_eq!(
        e(&mut u, &["SET", "bar", "v"]),
        "NOPERM this user has no permissions to access one of the keys used as arguments"
    );
    assert_eq!(
        e(&mut u, &["SETRANGE", "foo1", "0", "x"]),
        "NOPERM this user has no permissions to run the 'setrange' command"
    );
    assert_eq!(
        e(&mut u, &["PING"]),
        "NOPERM this user has no permissions to run the 'ping' command"
    );
    assert!(q::<i64>(&mut u, &["CLIENT", "ID"]) > 0);
    assert_eq!(
        e(&mut u, &["CLIENT", "LIST"]),
        "NOPERM this user has no permissions to run the 'client|list' command"
    );
    // Read-only patterns: GET yes, SET no; a multi-key command checks every key.
    ok(&mut c, &["SET", "ro1", "x"]);
    assert_eq!(q::<String>(&mut u, &["GET", "ro1"]), "x");
    assert!(e(&mut u, &["SET", "ro1", "y"]).starts_with("NOPERM"));
    assert!(e(&mut u, &["MGET", "foo1", "other"]).starts_with("NOPERM"));
    assert!(e(&mut u, &["LMOVE", "foo1", "ro1", "LEFT", "LEFT"]).starts_with("NOPERM"));
    // Channels.
    assert_eq!(q::<i64>(&mut u, &["PUBLISH", "chan1", "m"]), 0);
    assert_eq!(
        e(&mut u, &["PUBLISH", "other", "m"]),
        "NOPERM this user has no permissions to access one of the channels used as arguments"
    );
    assert!(e(&mut u, &["SUBSCRIBE", "chan1", "other"]).starts_with("NOPERM"));
    // PSUBSCRIBE needs the very pattern, not one it matches.
    assert!(e(&mut u, &["PSUBSCRIBE", "chan1*"]).starts_with("NOPERM"));
    // MULTI: refused at queueing time, the transaction aborts.
    ok(&mut u, &["MULTI"]);
    assert!(e(&mut u, &["SET", "bar", "1"]).starts_with("NOPERM"));
    assert!(e(&mut u, &["EXEC"]).starts_with("EXECABORT"));
    // Rules changed between queueing and EXEC.
    ok(&mut u, &["MULTI"]);
    assert_eq!(q::<String>(&mut u, &["SET", "foo2", "1"]), "QUEUED");
    ok(&mut c, &["ACL", "SETUSER", "u", "-set"]);
    let r = e(&mut u, &["EXEC"]);
    assert!(r.contains("ACLs rules changed between the moment"), "{r}");
    ok(&mut c, &["ACL", "SETUSER", "u", "+set"]);
    // Scripts: redis.call is checked too.
    assert_eq!(
        e(&mut u, &["EVAL", "return redis.call('set','bar','1')", "0"])
            .split(" script:")
            .next()
            .unwrap(),
        "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments"
    );
    assert!(
        e(&mut u, &["EVAL", "return redis.call('ping')", "0"])
            .starts_with("ERR The user executing the script can't run this command or subcommand")
    );
    assert!(
        e(
            &mut u,
            &["EVAL", "return redis.call('publish','x','m')", "0"]
        )
        .starts_with("ERR The user executing the script can't publish to the channel")
    );
    assert_eq!(
        v(
            &mut u,
            &["EVAL", "return redis.acl_check_cmd('set','bar','1')", "0"]
        ),
        Value::Nil
    );
    assert_eq!(
        q::<i64>(
            &mut u,
            &["EVAL", "return redis.acl_check_cmd('set','foo9','1')", "0"]
        ),
        1
    );
    // Nothing leaked through.
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "bar"]), 0);
    // ACL LOG: contexts.
    let log = v(&mut c, &["ACL", "LOG"]);
    let dump = format!("{log:?}");
    for ctx in ["toplevel", "multi", "lua"] {
        assert!(dump.contains(ctx), "{ctx} missing in {dump}");
    }
    ok(&mut c, &["ACL", "LOG", "RESET"]);
    assert_eq!(v(&mut c, &["ACL", "LOG"]), Value::Array(vec![]));
}

#[test]
fn selectors_and_getuser() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "sel",
            "on",
            "nopass",
            "-@all",
            "(+@write ~write::*)",
            "(+@read ~read::*)",
        ],
    );
    let mut u = login(&s, "sel", "x");
    ok(&mut u, &["SET", "write::foo", "bar"]);
    assert_eq!(v(&mut u, &["GET", "read::foo"]), Value::Nil);
    assert!(e(&mut u, &["GET", "write::foo"]).starts_with("NOPERM"));
    let gu = v(&mut c, &["ACL", "GETUSER", "sel"]);
    let Value::Array(sels) = map_get(&gu, "selectors") else {
        panic!("{gu:?}")
    };
    assert_eq!(sels.len(), 2);
    assert_eq!(text(map_get(&sels[0], "keys")), "~write::*");
    assert_eq!(text(map_get(&sels[0], "commands")), "-@all +@write");
    assert_eq!(
        e(&mut c, &["ACL", "SETUSER", "x", "(~x"]),
        "ERR Unmatched parenthesis in acl selector starting at '(~x'."
    );
    assert_eq!(
        e(&mut c, &["ACL", "SETUSER", "x", "on", "(this-is-invalid)"]),
        "ERR Error in ACL SETUSER modifier '(this-is-invalid)': Syntax error"
    );
    // A failed SETUSER creates nothing.
    assert_eq!(v(&mut c, &["ACL", "GETUSER", "x"]), Value::Nil);
    ok(&mut c, &["ACL", "SETUSER", "sel", "clearselectors"]);
    let gu = v(&mut c, &["ACL", "GETUSER", "sel"]);
    assert_eq!(map_get(&gu, "selectors"), &Value::Array(vec![]));
    // DRYRUN.
    ok(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "dry",
            "+@all",
            "%R~read*",
            "%W~write*",
            "%RW~rw*",
        ],
    );
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "dry", "GET", "read"]),
        "OK"
    );
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "dry", "GET", "write"]),
        "This user has no permissions to access the 'write' key"
    );
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "dry", "SET", "write", "v"]),
        "OK"
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &["ACL", "DRYRUN", "dry", "SET", "write", "v", "GET"]
        ),
        "This user has no permissions to access the 'write' key"
    );
    assert_eq!(
        e(&mut c, &["ACL", "DRYRUN", "nouser", "GET", "x"]),
        "ERR User 'nouser' not found"
    );
    assert_eq!(
        e(&mut c, &["ACL", "DRYRUN", "dry", "nocmd", "x"]),
        "ERR Command 'nocmd' not found"
    );
    assert_eq!(
        e(&mut c, &["ACL", "DRYRUN", "dry", "SET", "x"]),
        "ERR wrong number of arguments for 'set' command"
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &["ACL", "DRYRUN", "dry", "EVAL", "", "3", "rw", "read"]
        ),
        "OK"
    );
    assert_eq!(
        q::<String>(&mut c, &["ACL", "DRYRUN", "dry", "EVAL", "", "1", "read"]),
        "This user has no permissions to access the 'read' key"
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &["ACL", "DRYRUN", "dry", "EVAL_RO", "", "1", "read"]
        ),
        "OK"
    );
    assert_eq!(
        q::<String>(
            &mut c,
            &[
                "ACL", "DRYRUN", "dry", "MIGRATE", "h", "1", "", "0", "5000", "KEYS", "read"
            ]
        ),
        "This user has no permissions to access the 'read' key"
    );
}

#[test]
fn acl_subcommands_replies() {
    let s = server(&[]);
    let mut c = conn(&s);
    let cats: Vec<String> = q(&mut c, &["ACL", "CAT"]);
    assert_eq!(cats.len(), 21);
    assert_eq!(cats[0], "keyspace");
    let hash: Vec<String> = q(&mut c, &["ACL", "CAT", "hash"]);
    assert!(hash.contains(&"hset".to_string()) && !hash.contains(&"get".to_string()));
    assert_eq!(
        e(&mut c, &["ACL", "CAT", "nosuch"]),
        "ERR Unknown category 'nosuch'"
    );
    assert_eq!(
        e(&mut c, &["ACL", "CAT", "a", "b"]),
        "ERR unknown subcommand or wrong number of arguments for 'CAT'. Try ACL HELP."
    );
    assert_eq!(q::<String>(&mut c, &["ACL", "GENPASS"]).len(), 64);
    assert_eq!(q::<String>(&mut c, &["ACL", "GENPASS", "5"]).len(), 2);
    assert_eq!(
        e(&mut c, &["ACL", "GENPASS", "0"]),
        "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"
    );
    assert_eq!(
        e(&mut c, &["ACL", "GETUSER"]),
        "ERR wrong number of arguments for 'acl|getuser' command"
    );
    assert_eq!(
        e(&mut c, &["ACL", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try ACL HELP."
    );
    assert_eq!(v(&mut c, &["ACL", "GETUSER", "nosuch"]), Value::Nil);
    assert_eq!(
        e(&mut c, &["ACL", "DELUSER", "default"]),
        "ERR The 'default' user cannot be removed"
    );
    ok(&mut c, &["ACL", "SETUSER", "a"]);
    ok(&mut c, &["ACL", "SETUSER", "b"]);
    let users: Vec<String> = q(&mut c, &["ACL", "USERS"]);
    assert_eq!(users, vec!["a", "b", "default"]);
    assert_eq!(q::<i64>(&mut c, &["ACL", "DELUSER", "a", "nosuch", "b"]), 2);
    assert_eq!(
        e(&mut c, &["ACL", "LOAD"]).split(". ").next().unwrap(),
        "ERR This Redis instance is not configured to use an ACL file"
    );
    // COMMAND INFO shows the same categories ACL uses (Redis 7.0.15's).
    let info = v(&mut c, &["COMMAND", "INFO", "get", "hset"]);
    let dump = format!("{info:?}");
    assert!(dump.contains("@read") && dump.contains("@string") && dump.contains("@hash"));
}

#[test]
fn deleting_a_user_closes_its_connections() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &[
            "ACL", "SETUSER", "psuser", "on", "nopass", "+@all", "~*", "&*",
        ],
    );
    let mut u = login(&s, "psuser", "x");
    assert_eq!(q::<String>(&mut u, &["PING"]), "PONG");
    assert_eq!(q::<i64>(&mut c, &["ACL", "DELUSER", "psuser"]), 1);
    assert!(u.req_command(&redis::cmd("PING")).is_err());
    // A user deleting itself gets its reply, then the connection closes.
    ok(
        &mut c,
        &["ACL", "SETUSER", "me", "on", "nopass", "+@all", "~*"],
    );
    let mut me = login(&s, "me", "x");
    assert_eq!(q::<i64>(&mut me, &["ACL", "DELUSER", "me"]), 1);
    assert!(me.req_command(&redis::cmd("PING")).is_err());
}

/// Redis's ACLKillPubsubClientsIfNeeded: a subscriber whose user lost the permission for one
/// of its subscriptions is disconnected at once (gone from CLIENT LIST in the same breath),
/// also when what it lost was `allchannels`; one that keeps its permissions stays.
#[test]
fn subscribers_that_lose_channel_permissions_are_killed() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "psuser",
            "on",
            ">pspass",
            "+@all",
            "~*",
            "allchannels",
        ],
    );
    let raw_sub = |name: &str, sub: &[u8]| {
        let mut raw = RawConn::connect(s.addr);
        assert_eq!(raw.roundtrip(b"AUTH psuser pspass\r\n", 5), "+OK\r\n");
        let setname = format!("CLIENT SETNAME {name}\r\n");
        assert_eq!(raw.roundtrip(setname.as_bytes(), 5), "+OK\r\n");
        raw.send(sub);
        let _ = raw.read_exact_n(10);
        raw
    };
    let _deathrow = raw_sub("deathrow", b"PSUBSCRIBE foo\r\n");
    ok(&mut c, &["ACL", "SETUSER", "psuser", "resetchannels"]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(!list.contains("deathrow"), "{list}");
    // Literal permissions kept: the subscriber is pardoned.
    ok(&mut c, &["ACL", "SETUSER", "psuser", "&foo:1"]);
    let _pardoned = raw_sub("pardoned", b"SUBSCRIBE foo:1\r\n");
    ok(&mut c, &["ACL", "SETUSER", "psuser", "&bar"]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(list.contains("pardoned"), "{list}");
    ok(&mut c, &["ACL", "SETUSER", "psuser", "resetchannels"]);
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    assert!(!list.contains("pardoned"), "{list}");
}

/// SORT's BY and GET read keys that no key check sees: Redis allows them only to a user who may
/// read every key (allkeys, or a read pattern matching `*`).
#[test]
fn sort_by_and_get_need_read_access_to_every_key() {
    let s = server(&[]);
    let mut c = conn(&s);
    ok(&mut c, &["SET", "v1", "1"]);
    let _: i64 = q(&mut c, &["LPUSH", "mylist", "1"]);
    ok(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "sorter",
            "on",
            "nopass",
            "(+sort ~mylist)",
        ],
    );
    let mut u = login(&s, "sorter", "x");
    let by = "ERR BY option of SORT denied due to insufficient ACL permissions.";
    let get = "ERR GET option of SORT denied due to insufficient ACL permissions.";
    for rules in [
        &["(+sort ~mylist)"][..],
        &["(+sort ~mylist ~v*)"],
        &["(+sort ~mylist %W~*)"],
    ] {
        ok(
            &mut c,
            &[
                &["ACL", "SETUSER", "sorter", "reset", "on", "nopass"][..],
                rules,
            ]
            .concat(),
        );
        assert_eq!(e(&mut u, &["SORT", "mylist", "BY", "v*"]), by, "{rules:?}");
        assert_eq!(
            e(&mut u, &["SORT", "mylist", "GET", "v*"]),
            get,
            "{rules:?}"
        );
    }
    ok(
        &mut c,
        &["ACL", "SETUSER", "sorter", "(+sort ~mylist %R~*)"],
    );
    assert_eq!(
        q::<Vec<String>>(&mut u, &["SORT", "mylist", "BY", "v*"]),
        ["1"]
    );
    // A BY without `*` sorts nothing and reads nothing: no check.
    ok(
        &mut c,
        &[
            "ACL", "SETUSER", "sorter", "reset", "on", "nopass", "+sort", "~mylist",
        ],
    );
    assert_eq!(
        q::<Vec<String>>(&mut u, &["SORT", "mylist", "BY", "nosort"]),
        ["1"]
    );
}

#[test]
fn aclfile_load_save_and_user_directives() {
    let dir = std::env::temp_dir().join(format!("shoal-acl-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.acl");
    std::fs::write(
        &path,
        "user alice on >alice ~* &* +@all\nuser bob on >bob ~* &* -@all +@set +acl\n",
    )
    .unwrap();
    let s = server(&["--dir", dir.to_str().unwrap(), "--aclfile", "users.acl"]);
    let mut c = conn(&s);
    let mut bob = login(&s, "bob", "bob");
    assert_eq!(q::<i64>(&mut bob, &["SADD", "s", "1"]), 1);
    assert!(e(&mut bob, &["SET", "k", "v"]).starts_with("NOPERM"));
    ok(
        &mut c,
        &[
            "ACL", "SETUSER", "carol", "on", ">c", "~c*", "-@all", "+get",
        ],
    );
    ok(&mut c, &["ACL", "SAVE"]);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.contains("user carol on #"), "{saved}");
    // LOAD: back to the file; users that changed lose their connections.
    std::fs::write(&path, "user alice on >alice2 ~* &* +@all\n").unwrap();
    ok(&mut c, &["ACL", "LOAD"]);
    let users: Vec<String> = q(&mut c, &["ACL", "USERS"]);
    assert_eq!(users, vec!["alice", "default"]);
    assert!(bob.req_command(&redis::cmd("PING")).is_err());
    login(&s, "alice", "alice2");
    std::fs::write(&path, "user alice on\nuser alice off\n").unwrap();
    assert!(e(&mut c, &["ACL", "LOAD"]).contains("Duplicate user 'alice' found"));
    std::fs::write(&path, "user x on +nosuch\n").unwrap();
    assert!(e(&mut c, &["ACL", "LOAD"]).contains("Unknown command or category name in ACL"));
    drop(s);

    // `user` directives in the configuration file.
    let conf = dir.join("shoal.conf");
    std::fs::write(
        &conf,
        "user dave on >d ~d* +@all\nuser default on nopass ~* &* +@all -flushdb\n",
    )
    .unwrap();
    let s = ServerProcess::start_raw(
        BIN,
        &[
            conf.to_str().unwrap(),
            "--ephemeral-ports",
            "port",
            "--bind",
            "127.0.0.1",
        ],
    );
    let mut c = conn(&s);
    let mut d = login(&s, "dave", "d");
    ok(&mut d, &["SET", "d1", "v"]);
    assert!(e(&mut c, &["FLUSHDB"]).starts_with("NOPERM"));
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

/// GET /metrics with optional Basic credentials (already base64): the status line.
fn metrics_status(addr: &str, basic: Option<&str>) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let auth = basic.map_or(String::new(), |b| format!("Authorization: Basic {b}\r\n"));
    s.write_all(format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}\r\n").as_bytes())
        .unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body.lines().next().unwrap_or_default().to_string()
}

#[test]
fn metrics_port_can_require_credentials() {
    let s = server(&[
        "--metrics-port",
        "0",
        "--metrics-auth",
        "yes",
        "--requirepass",
        "pw",
    ]);
    let addr = metrics_addr(&s);
    assert_eq!(metrics_status(&addr, None), "HTTP/1.1 401 Unauthorized");
    // default:pw and default:wrong
    assert_eq!(
        metrics_status(&addr, Some("ZGVmYXVsdDpwdw==")),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        metrics_status(&addr, Some("ZGVmYXVsdDp3cm9uZw==")),
        "HTTP/1.1 401 Unauthorized"
    );
    assert_eq!(
        metrics_status(&addr, Some("!!!")),
        "HTTP/1.1 401 Unauthorized"
    );
    // Without metrics-auth the page stays open.
    let open = server(&["--metrics-port", "0", "--requirepass", "pw"]);
    assert_eq!(
        metrics_status(&metrics_addr(&open), None),
        "HTTP/1.1 200 OK"
    );
}

#[test]
fn metrics_port_listens_on_every_bind_address() {
    // 127.0.0.2 is a loopback address too; 192.0.2.1 (TEST-NET) is on no interface: optional.
    let s = ServerProcess::start_raw(
        BIN,
        &[
            "--ephemeral-ports",
            "port",
            "--bind",
            "127.0.0.1 127.0.0.2 -192.0.2.1",
            "--metrics-port",
            "0",
        ],
    );
    let first = metrics_addr(&s);
    let port = first.rsplit(':').next().unwrap().to_string();
    assert_eq!(first, format!("127.0.0.1:{port}"));
    let lines: Vec<String> = s
        .log()
        .into_iter()
        .filter(|l| l.contains("Metrics on http://"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for ip in ["127.0.0.1", "127.0.0.2"] {
        assert_eq!(
            metrics_status(&format!("{ip}:{port}"), None),
            "HTTP/1.1 200 OK",
            "{ip}"
        );
    }
    // An address `bind` does not list gets nothing.
    assert!(std::net::TcpStream::connect(format!("127.0.0.3:{port}")).is_err());
    // A required address whose metrics port is taken: the server does not start.
    let taken = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let busy = taken.local_addr().unwrap().port().to_string();
    let out = std::process::Command::new(BIN)
        .args(["--ephemeral-ports", "port"])
        .args(["--bind", "127.0.0.1 127.0.0.2", "--metrics-port", &busy])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(metrics)") && err.contains("127.0.0.2"),
        "{err}"
    );
}

#[test]
fn config_rewrite_writes_the_users_back() {
    let dir = std::env::temp_dir().join(format!("shoal-acl-rewrite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shoal.conf");
    std::fs::write(
        &path,
        "# users\nuser alice on >alicepw ~a:* +get\nmaxclients 50\nuser carol on nopass +@all\n",
    )
    .unwrap();
    let start = || {
        ServerProcess::start_raw(
            BIN,
            &[
                path.to_str().unwrap(),
                "--ephemeral-ports",
                "port",
                "--bind",
                "127.0.0.1",
            ],
        )
    };
    let s = start();
    let mut c = conn(&s);
    ok(
        &mut c,
        &[
            "ACL",
            "SETUSER",
            "bob",
            "on",
            ">bobpw",
            "~b:*",
            "+set",
            "+acl|whoami",
        ],
    );
    assert_eq!(q::<i64>(&mut c, &["ACL", "DELUSER", "carol"]), 1);
    ok(&mut c, &["ACL", "SETUSER", "alice", "+del"]);
    let list: Vec<String> = q(&mut c, &["ACL", "LIST"]);
    ok(&mut c, &["CONFIG", "REWRITE"]);
    let text = std::fs::read_to_string(&path).unwrap();
    let alice = list.iter().find(|l| l.starts_with("user alice ")).unwrap();
    // alice's line stays where it was; carol's goes; bob and default are appended.
    assert!(
        text.starts_with(&format!("# users\n{alice}\nmaxclients 50\n")),
        "{text}"
    );
    assert!(!text.contains("carol"), "{text}");
    let users: Vec<&str> = text.lines().filter(|l| l.starts_with("user ")).collect();
    assert_eq!(users, list.iter().map(String::as_str).collect::<Vec<_>>());
    drop(c);
    drop(s);
    // Restarted from the file: the same users, passwords included.
    let s = start();
    let mut c = conn(&s);
    assert_eq!(q::<Vec<String>>(&mut c, &["ACL", "LIST"]), list);
    ok(&mut c, &["AUTH", "bob", "bobpw"]);
    assert_eq!(q::<String>(&mut c, &["ACL", "WHOAMI"]), "bob");
    std::fs::remove_dir_all(&dir).ok();
}

/// Redis looks a container's subcommand up before ACL: an unknown one (a newer client's
/// `CLIENT MAINT_NOTIFICATIONS`) is `unknown subcommand` for a user who may not run the
/// container, and leaves no ACL LOG entry.
#[test]
fn unknown_subcommands_are_refused_before_acl() {
    let s = server(&[]);
    let mut admin = conn(&s);
    ok(
        &mut admin,
        &["ACL", "SETUSER", "u", "on", ">p", "+get", "~*"],
    );
    ok(&mut admin, &["ACL", "LOG", "RESET"]);
    let mut c = login(&s, "u", "p");
    assert_eq!(
        e(&mut c, &["CLIENT", "MAINT_NOTIFICATIONS", "on"]),
        "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."
    );
    assert_eq!(
        e(&mut c, &["CLIENT", "LIST"]),
        "NOPERM this user has no permissions to run the 'client|list' command"
    );
    let log: Vec<Value> = q(&mut admin, &["ACL", "LOG"]);
    assert_eq!(log.len(), 1, "only the real denial is logged: {log:?}");
}
