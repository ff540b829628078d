//! Keys other than one integer column — UUIDs, text with mixed case and accents, and a two-column
//! key — sync exactly on every engine, with changes spread over the key space. Between two
//! databases of one engine that declare the key alike, with the same collation, keys are chunked by
//! key ranges (composite keys on PostgreSQL only); SQLite's loosely typed text keys are chunked by
//! key hash, so no stored spelling can make the two sides disagree about a chunk.

use crate::common::{dbdelta, dbdelta_json, describe, table_report, Conn, Engine, Pair};
use std::collections::BTreeSet;

const ROWS: u64 = 3000;

struct KeyedTable {
    name: &'static str,
    /// `CREATE TABLE` per engine.
    create: fn(Engine) -> &'static str,
    /// Key column list for INSERTs and SELECTs.
    key_columns: &'static str,
    /// The key of row `i` as SQL literals (without the value columns).
    key_literals: fn(u64) -> String,
}

fn uuid_of(i: u64) -> String {
    // A deterministic, well-spread pseudo-UUID (a 64-bit mix of i).
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i << 17);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        x & 0xfff,
        (x >> 20) & 0xfff,
        x & 0xffff_ffff_ffff
    )
}

fn text_key(i: u64) -> String {
    const PREFIXES: [&str; 8] = [
        "Élan", "élan", "ZEBRA", "zebra", "Ñandú", "straße", "Strasse", "ﬁ😀",
    ];
    format!("{} {i}", PREFIXES[(i % 8) as usize])
}

fn tables() -> Vec<KeyedTable> {
    vec![
        KeyedTable {
            name: "k_uuid",
            create: |e| match e {
                Engine::Postgres => "CREATE TABLE k_uuid (id uuid PRIMARY KEY, v text, n integer)",
                Engine::MySql => "CREATE TABLE k_uuid (id char(36) PRIMARY KEY, v text, n int)",
                Engine::Sqlite => {
                    "CREATE TABLE k_uuid (id TEXT PRIMARY KEY NOT NULL, v TEXT, n INTEGER)"
                }
            },
            key_columns: "id",
            key_literals: |i| format!("'{}'", uuid_of(i)),
        },
        KeyedTable {
            name: "k_text",
            create: |e| {
                match e {
                Engine::Postgres => "CREATE TABLE k_text (code varchar(64) PRIMARY KEY, v text, n integer)",
                // A case- and accent-sensitive key, so that 'Élan 1' and 'élan 1' may both exist.
                Engine::MySql => {
                    "CREATE TABLE k_text (code varchar(64) COLLATE utf8mb4_bin PRIMARY KEY, v text, n int) \
                     DEFAULT CHARSET=utf8mb4"
                }
                Engine::Sqlite => "CREATE TABLE k_text (code TEXT PRIMARY KEY NOT NULL, v TEXT, n INTEGER)",
            }
            },
            key_columns: "code",
            key_literals: |i| format!("'{}'", text_key(i)),
        },
        KeyedTable {
            name: "k_pair",
            create: |e| {
                match e {
                Engine::Postgres => {
                    "CREATE TABLE k_pair (region integer, code text, v text, n integer, PRIMARY KEY (region, code))"
                }
                Engine::MySql => {
                    "CREATE TABLE k_pair (region int, code varchar(64) COLLATE utf8mb4_bin, v text, n int, \
                     PRIMARY KEY (region, code)) DEFAULT CHARSET=utf8mb4"
                }
                Engine::Sqlite => {
                    "CREATE TABLE k_pair (region INTEGER NOT NULL, code TEXT NOT NULL, v TEXT, n INTEGER, \
                     PRIMARY KEY (region, code))"
                }
            }
            },
            key_columns: "region, code",
            key_literals: |i| format!("{}, '{}'", (i % 7) as i64 - 3, text_key(i)),
        },
    ]
}

fn insert(table: &KeyedTable, ids: impl Iterator<Item = u64>, label: &str) -> String {
    let rows: Vec<String> = ids
        .map(|i| format!("({}, '{label} {i}', {i})", (table.key_literals)(i)))
        .collect();
    format!(
        "INSERT INTO {} ({}, v, n) VALUES {}",
        table.name,
        table.key_columns,
        rows.join(", ")
    )
}

/// Every row as text (hexadecimal on MariaDB), as a set (each engine orders text keys its own way).
async fn read(conn: &Conn, engine: Engine, table: &KeyedTable) -> BTreeSet<Vec<Option<String>>> {
    let columns: Vec<String> = table
        .key_columns
        .split(", ")
        .chain(["v", "n"])
        .map(|c| match engine {
            Engine::Postgres => format!("{c}::text"),
            // Hexadecimal, so that binary keys read back too (both sides are the same engine).
            Engine::MySql => format!("HEX({c})"),
            Engine::Sqlite => c.to_string(),
        })
        .collect();
    let sql = format!("SELECT {} FROM {}", columns.join(", "), table.name);
    conn.rows(&sql).await.into_iter().collect()
}

/// Changes spread over each table's key space on both sides, synced; both sides read back equal,
/// and a second sync finds nothing. Returns the `diff --json` report taken before the sync.
async fn sync_spread_changes(pair: &Pair, tables: &[KeyedTable]) -> serde_json::Value {
    let engine = pair.engine;
    let mut job = String::from("[defaults]\nchunk_size = 400\n");
    for t in tables {
        pair.exec_both((t.create)(engine)).await;
        pair.exec_both(&insert(t, 0..ROWS, "seed")).await;
        pair.source
            .exec(&format!(
                "UPDATE {} SET v = 'changed ✓' WHERE n % 7 = 0",
                t.name
            ))
            .await;
        pair.source
            .exec(&format!("DELETE FROM {} WHERE n % 11 = 0", t.name))
            .await;
        pair.source.exec(&insert(t, ROWS..ROWS + 100, "new")).await;
        pair.target
            .exec(&format!(
                "UPDATE {} SET n = n + 1000000 WHERE n % 13 = 0",
                t.name
            ))
            .await;
        pair.target
            .exec(&insert(t, ROWS + 500..ROWS + 550, "target-only"))
            .await;
        job.push_str(&format!("[[tables]]\nname = \"{}\"\n", t.name));
    }
    let path = pair.job_file(&job);
    let job = path.to_str().unwrap_or_default();
    let dir = pair.dir.path();

    let (code, listing) = dbdelta_json(dir, &["diff", "-c", job]);
    assert_eq!(code, 1, "{listing:#}");
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0, "{report:#}");
    for t in tables {
        let r = table_report(&report, t.name);
        assert!(
            r["chunks"].as_u64().unwrap_or(0) >= 7,
            "{} is cut into chunks: {r:#}",
            t.name
        );
        let deleted_on_source = (0..ROWS).filter(|n| n % 11 == 0).count() as u64;
        assert_eq!(r["inserted"], 100, "{}: {r:#}", t.name);
        assert_eq!(r["deleted"], 50 + deleted_on_source, "{}: {r:#}", t.name);
        let source = read(&pair.source, engine, t).await;
        assert_eq!(
            source,
            read(&pair.target, engine, t).await,
            "{} is equal",
            t.name
        );
    }
    let output = dbdelta(dir, &["diff", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
    assert_eq!(code, 0);
    for t in tables {
        assert_eq!(table_report(&report, t.name)["chunks_differing"], 0);
    }
    listing
}

/// How the differing chunks of a table are described in a `diff --json` listing: `[lo, hi)`
/// for key ranges, `bucket i of n` for hash buckets.
fn chunk_kinds(listing: &serde_json::Value, table: &str) -> BTreeSet<&'static str> {
    table_report(listing, table)["differences"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| match d["range"].as_str() {
            Some(r) if r.starts_with("bucket") => "buckets",
            _ => "ranges",
        })
        .collect()
}

async fn keys_of_every_kind(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let listing = sync_spread_changes(&pair, &tables()).await;
    let expected = match engine {
        Engine::Sqlite => "buckets",
        Engine::Postgres | Engine::MySql => "ranges",
    };
    assert_eq!(chunk_kinds(&listing, "k_text"), BTreeSet::from([expected]));
    pair.cleanup().await;
}

/// Keys that order alike on both sides, whatever the collation: PostgreSQL `uuid`, `timestamp`
/// and a composite `(uuid, date)` key; MariaDB `binary(16)` and `datetime(6)`.
fn ordered_tables(engine: Engine) -> Vec<KeyedTable> {
    match engine {
        Engine::Postgres => vec![
            KeyedTable {
                name: "o_uuid",
                create: |_| "CREATE TABLE o_uuid (id uuid PRIMARY KEY, v text, n integer)",
                key_columns: "id",
                key_literals: |i| format!("'{}'", uuid_of(i)),
            },
            KeyedTable {
                name: "o_time",
                create: |_| "CREATE TABLE o_time (at timestamp(6) PRIMARY KEY, v text, n integer)",
                key_columns: "at",
                key_literals: |i| {
                    format!("timestamp '1999-12-31 23:00' + {i} * interval '1.000001 s'")
                },
            },
            KeyedTable {
                name: "o_pair",
                create: |_| {
                    "CREATE TABLE o_pair (id uuid, day date, v text, n integer, PRIMARY KEY (id, day))"
                },
                key_columns: "id, day",
                key_literals: |i| {
                    format!("'{}', date '2024-01-01' + {}", uuid_of(i % 500), i / 500)
                },
            },
        ],
        _ => vec![
            KeyedTable {
                name: "o_bin",
                create: |_| "CREATE TABLE o_bin (id binary(16) PRIMARY KEY, v text, n int)",
                key_columns: "id",
                key_literals: |i| format!("UNHEX(REPLACE('{}', '-', ''))", uuid_of(i)),
            },
            KeyedTable {
                name: "o_time",
                create: |_| "CREATE TABLE o_time (at datetime(6) PRIMARY KEY, v text, n int)",
                key_columns: "at",
                key_literals: |i| {
                    format!(
                        "TIMESTAMP '1999-12-31 23:00:00' + INTERVAL {} MICROSECOND",
                        i * 1_000_001
                    )
                },
            },
        ],
    }
}

async fn ordered_keys_are_chunked_by_ranges(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let tables = ordered_tables(engine);
    let listing = sync_spread_changes(&pair, &tables).await;
    for t in &tables {
        assert_eq!(
            chunk_kinds(&listing, t.name),
            BTreeSet::from(["ranges"]),
            "{}: {listing:#}",
            t.name
        );
    }
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_uuid_timestamp_and_composite_keys_are_chunked_by_ranges() {
    ordered_keys_are_chunked_by_ranges(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_binary_and_datetime_keys_are_chunked_by_ranges() {
    ordered_keys_are_chunked_by_ranges(Engine::MySql).await;
}

#[tokio::test]
async fn postgres_uuid_text_and_composite_keys() {
    keys_of_every_kind(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_uuid_text_and_composite_keys() {
    keys_of_every_kind(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_uuid_text_and_composite_keys() {
    keys_of_every_kind(Engine::Sqlite).await;
}
