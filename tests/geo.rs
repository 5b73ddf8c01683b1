//! Geo commands against the real binary. Expected replies are redis-server 7.0.15's for the same
//! commands.
mod common;
use common::*;
use redis::Value;

fn sicily(c: &mut redis::Connection) {
    assert_eq!(
        q::<i64>(
            c,
            &[
                "GEOADD",
                "Sicily",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania"
            ]
        ),
        2
    );
    assert_eq!(
        q::<i64>(
            c,
            &["GEOADD", "Sicily", "13.583333", "37.316667", "Agrigento"]
        ),
        1
    );
}

fn s(v: &str) -> Value {
    Value::BulkString(v.as_bytes().to_vec())
}

#[test]
fn geoadd_scores_positions_hashes_distances() {
    let srv = server(&[]);
    let mut c = conn(&srv);
    sicily(&mut c);
    let z: Vec<(String, String)> = q(&mut c, &["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"]);
    assert_eq!(
        z,
        vec![
            ("Agrigento".into(), "3479030013248308".into()),
            ("Palermo".into(), "3479099956230698".into()),
            ("Catania".into(), "3479447370796909".into()),
        ]
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania"]),
        "166274.1516"
    );
    assert_eq!(
        q::<String>(&mut c, &["GEODIST", "Sicily", "Palermo", "Catania", "km"]),
        "166.2742"
    );
    assert_eq!(
        v(&mut c, &["GEODIST", "Sicily", "Palermo", "nobody"]),
        Value::Nil
    );
    assert_eq!(v(&mut c, &["GEODIST", "nokey", "a", "b"]), Value::Nil);
    assert_eq!(
        v(
            &mut c,
            &["GEOHASH", "Sicily", "Palermo", "Catania", "nobody"]
        ),
        Value::Array(vec![s("sqc8b49rny0"), s("sqdtr74hyu0"), Value::Nil])
    );
    assert_eq!(
        v(&mut c, &["GEOPOS", "Sicily", "Palermo", "nobody"]),
        Value::Array(vec![
            Value::Array(vec![s("13.36138933897018433"), s("38.11555639549629859")]),
            Value::Nil
        ])
    );
    assert_eq!(
        v(&mut c, &["GEOPOS", "nokey", "a"]),
        Value::Array(vec![Value::Nil])
    );
    // NX / XX / CH.
    assert_eq!(
        q::<i64>(&mut c, &["GEOADD", "Sicily", "NX", "0", "0", "Palermo"]),
        0
    );
    assert_eq!(
        q::<i64>(&mut c, &["GEOADD", "Sicily", "XX", "0", "0", "new"]),
        0
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &["GEOADD", "Sicily", "XX", "CH", "1", "1", "Palermo"]
        ),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["GEOADD", "xx", "XX", "1", "1", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "xx"]), 0);
    // Edges of the valid range.
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEOADD",
                "edge",
                "180",
                "85.05112878",
                "ne",
                "-180",
                "-85.05112878",
                "sw"
            ]
        ),
        2
    );
    assert_eq!(
        v(&mut c, &["GEOPOS", "edge", "ne"]),
        Value::Array(vec![Value::Array(vec![s("180"), s("85.0511287799999991")])])
    );
}

#[test]
fn searches_match_redis() {
    let srv = server(&[]);
    let mut c = conn(&srv);
    sicily(&mut c);
    let r = v(
        &mut c,
        &[
            "GEORADIUS",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "WITHDIST",
            "WITHCOORD",
        ],
    );
    let item = |m: &str, d: &str, x: &str, y: &str| {
        Value::Array(vec![s(m), s(d), Value::Array(vec![s(x), s(y)])])
    };
    assert_eq!(
        r,
        Value::Array(vec![
            item(
                "Agrigento",
                "130.4235",
                "13.5833314061164856",
                "37.31666804993816555"
            ),
            item(
                "Palermo",
                "190.4424",
                "13.36138933897018433",
                "38.11555639549629859"
            ),
            item(
                "Catania",
                "56.4413",
                "15.08726745843887329",
                "37.50266842333162032"
            ),
        ])
    );
    let r = v(
        &mut c,
        &[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "ASC",
            "WITHCOORD",
            "WITHDIST",
            "WITHHASH",
        ],
    );
    let Value::Array(items) = r else { panic!() };
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0],
        Value::Array(vec![
            s("Catania"),
            s("56.4413"),
            Value::Int(3479447370796909),
            Value::Array(vec![s("15.08726745843887329"), s("37.50266842333162032")])
        ])
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "100",
                "mi",
                "DESC",
                "COUNT",
                "2"
            ]
        ),
        vec!["Agrigento", "Palermo"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "GEORADIUSBYMEMBER_RO",
                "Sicily",
                "Palermo",
                "200",
                "km",
                "ASC"
            ]
        ),
        vec!["Palermo", "Agrigento", "Catania"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "COUNT",
                "1",
                "ANY"
            ]
        )
        .len(),
        1
    );
    // STORE / STOREDIST.
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEOSEARCHSTORE",
                "dst",
                "Sicily",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "200",
                "km",
                "STOREDIST"
            ]
        ),
        3
    );
    let z: Vec<(String, String)> = q(&mut c, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]);
    assert_eq!(
        z,
        vec![
            ("Catania".into(), "56.441257870158204".into()),
            ("Agrigento".into(), "130.42348706714702".into()),
            ("Palermo".into(), "190.44242984775784".into()),
        ]
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEORADIUS",
                "Sicily",
                "15",
                "37",
                "100",
                "km",
                "STORE",
                "dst2"
            ]
        ),
        1
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["ZRANGE", "dst2", "0", "-1"]),
        vec!["Catania"]
    );
    // Nothing found: the destination is deleted.
    assert_eq!(
        q::<i64>(
            &mut c,
            &["GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "dst2"]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst2"]), 0);
    // A missing source: empty reply, or 0 and the destination deleted.
    assert_eq!(
        v(
            &mut c,
            &[
                "GEOSEARCH",
                "nokey",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "1",
                "m"
            ]
        ),
        Value::Array(vec![])
    );
    assert_eq!(
        q::<i64>(
            &mut c,
            &[
                "GEOSEARCHSTORE",
                "dst",
                "nokey",
                "FROMMEMBER",
                "x",
                "BYRADIUS",
                "1",
                "m"
            ]
        ),
        0
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "dst"]), 0);
}

#[test]
fn resp3_coordinates_are_doubles() {
    let srv = server(&[]);
    let mut c = resp3(&srv);
    sicily(&mut c);
    assert_eq!(
        v(&mut c, &["GEOPOS", "Sicily", "Palermo"]),
        Value::Array(vec![Value::Array(vec![
            Value::Double(13.361389338970184),
            Value::Double(38.1155563954963)
        ])])
    );
}

#[test]
fn large_sets_search_by_score_ranges() {
    let srv = server(&[]);
    let mut c = conn(&srv);
    // A grid of 50x50 points 0.01 degrees apart: a skiplist-encoded set.
    for i in 0..50 {
        let mut cmd = redis::cmd("GEOADD");
        cmd.arg("grid");
        for j in 0..50 {
            cmd.arg(format!("{}", 10.0 + i as f64 * 0.01))
                .arg(format!("{}", 45.0 + j as f64 * 0.01))
                .arg(format!("p{i}-{j}"));
        }
        let _: i64 = cmd.query(&mut c).unwrap();
    }
    assert_eq!(q::<i64>(&mut c, &["ZCARD", "grid"]), 2500);
    // Within 1.2 km of a grid point: itself and its 4 neighbours (0.01 degrees of latitude is
    // 1.11 km; diagonals and two steps east or west are farther), in Redis's order.
    let r: Vec<String> = q(
        &mut c,
        &[
            "GEOSEARCH",
            "grid",
            "FROMMEMBER",
            "p25-25",
            "BYRADIUS",
            "1.2",
            "km",
            "ASC",
        ],
    );
    assert_eq!(r, vec!["p25-25", "p24-25", "p26-25", "p25-26", "p25-24"]);
    let r: Vec<String> = q(
        &mut c,
        &[
            "GEOSEARCH",
            "grid",
            "FROMLONLAT",
            "10.25",
            "45.25",
            "BYBOX",
            "1",
            "1",
            "km",
        ],
    );
    assert_eq!(r.len(), 1, "{r:?}");
}

#[test]
fn errors_are_redis_texts() {
    let srv = server(&[]);
    let mut c = conn(&srv);
    sicily(&mut c);
    ok(&mut c, &["SET", "str", "x"]);
    let wrong = "WRONGTYPE Operation against a key holding the wrong kind of value";
    assert_eq!(
        e(&mut c, &["GEOADD", "k", "200", "0", "x"]),
        "ERR invalid longitude,latitude pair 200.000000,0.000000"
    );
    assert_eq!(
        e(&mut c, &["GEOADD", "k", "0", "85.06", "x"]),
        "ERR invalid longitude,latitude pair 0.000000,85.060000"
    );
    assert_eq!(
        e(&mut c, &["GEOADD", "k", "abc", "0", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        e(&mut c, &["GEOADD", "k", "NX", "XX", "0", "0", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["GEOADD", "k", "0", "0", "x", "1"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["GEOADD", "k", "0", "0"]),
        "ERR wrong number of arguments for 'geoadd' command"
    );
    assert_eq!(e(&mut c, &["GEOADD", "str", "0", "0", "x"]), wrong);
    assert_eq!(e(&mut c, &["GEOPOS", "str", "x"]), wrong);
    assert_eq!(e(&mut c, &["GEOHASH", "str", "x"]), wrong);
    assert_eq!(e(&mut c, &["GEODIST", "str", "a", "b"]), wrong);
    assert_eq!(
        e(
            &mut c,
            &[
                "GEOSEARCH",
                "str",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "m"
            ]
        ),
        wrong
    );
    assert_eq!(
        e(&mut c, &["GEODIST", "Sicily", "a", "b", "parsec"]),
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    );
    assert_eq!(
        e(&mut c, &["GEODIST", "Sicily", "a", "b", "m", "x"]),
        "ERR syntax error"
    );
    let base = ["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37"];
    let with = |extra: &[&'static str]| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "-1", "m"])),
        "ERR radius cannot be negative"
    );
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "abc", "m"])),
        "ERR need numeric radius"
    );
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "1e400", "m"])),
        "ERR need numeric radius"
    );
    assert_eq!(
        e(&mut c, &with(&["BYBOX", "x", "1", "m"])),
        "ERR need numeric width"
    );
    assert_eq!(
        e(&mut c, &with(&["BYBOX", "1", "x", "m"])),
        "ERR need numeric height"
    );
    assert_eq!(
        e(&mut c, &with(&["BYBOX", "1", "-1", "m"])),
        "ERR height or width cannot be negative"
    );
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "1", "parsec"])),
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    );
    assert_eq!(
        e(&mut c, &with(&["ASC", "WITHDIST"])),
        "ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH"
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "geosearch",
                "Sicily",
                "BYRADIUS",
                "1",
                "m",
                "ASC",
                "WITHDIST"
            ]
        ),
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch"
    );
    assert_eq!(
        e(
            &mut c,
            &with(&["BYRADIUS", "1", "m", "BYBOX", "1", "1", "m"])
        ),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "1", "m", "ANY"])),
        "ERR the ANY argument requires COUNT argument"
    );
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "1", "m", "COUNT", "0"])),
        "ERR COUNT must be > 0"
    );
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "1", "m", "COUNT", "x"])),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &with(&["BYRADIUS", "1", "m", "STORE", "x"])),
        "ERR syntax error"
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "GEOSEARCH",
                "Sicily",
                "FROMMEMBER",
                "nobody",
                "BYRADIUS",
                "1",
                "m"
            ]
        ),
        "ERR could not decode requested zset member"
    );
    assert_eq!(
        e(&mut c, &["GEORADIUSBYMEMBER", "Sicily", "nobody", "1", "m"]),
        "ERR could not decode requested zset member"
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "GEOSEARCHSTORE",
                "d",
                "Sicily",
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "m",
                "WITHDIST"
            ]
        ),
        "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    );
    assert_eq!(
        e(
            &mut c,
            &[
                "GEORADIUS",
                "Sicily",
                "0",
                "0",
                "1",
                "m",
                "WITHHASH",
                "STORE",
                "d"
            ]
        ),
        "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    );
    assert_eq!(
        e(
            &mut c,
            &["GEORADIUS_RO", "Sicily", "0", "0", "1", "m", "STORE", "d"]
        ),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["GEORADIUS", "Sicily", "0", "91", "1", "m"]),
        "ERR invalid longitude,latitude pair 0.000000,91.000000"
    );
}

#[test]
fn keyspace_events_and_command_info() {
    let srv = server(&[]);
    let mut c = conn(&srv);
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "geoadd", "pfadd", "georadius"]);
    assert_eq!(info.len(), 3);
    let mut sub = conn(&srv);
    ok(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
    let mut ps = sub.as_pubsub();
    ps.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    ps.psubscribe("__keyevent@0__:*").unwrap();
    q::<i64>(&mut c, &["GEOADD", "g", "1", "1", "a"]);
    q::<i64>(&mut c, &["PFADD", "h", "x"]);
    ok(&mut c, &["PFMERGE", "h2", "h"]);
    q::<i64>(
        &mut c,
        &[
            "GEOSEARCHSTORE",
            "d",
            "g",
            "FROMLONLAT",
            "1",
            "1",
            "BYRADIUS",
            "1",
            "km",
        ],
    );
    let mut events = Vec::new();
    for _ in 0..4 {
        let m = ps.get_message().unwrap();
        events.push(m.get_channel_name().to_string());
    }
    assert_eq!(
        events,
        vec![
            "__keyevent@0__:zadd",
            "__keyevent@0__:pfadd",
            "__keyevent@0__:pfadd",
            "__keyevent@0__:geosearchstore"
        ]
    );
}
