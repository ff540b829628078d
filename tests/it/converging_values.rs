//! What is accepted arrives exactly and converges: for every value a first `sync` writes, the
//! target holds exactly that value, so `diff` exits 0 and a second `sync` writes no row; a value
//! the target cannot hold exactly is refused before anything is written, naming the table, the
//! key, the column and the value.
//!
//! The cases are the ones that were once rewritten on every run: SQLite's loose spellings of
//! times, dates, timestamps, booleans and UUIDs into PostgreSQL and MariaDB; a bare JSON number
//! in a SQLite `JSON` column (stored as a number by its NUMERIC affinity); JSON numbers spelled
//! `1e2` into `jsonb`; SQLite text into a binary column. Both sides are read back with sqlx,
//! never trusting dbdelta's checksums.

use crate::common::exact::{self, rows_written, Kind, Link, Rows};
use crate::common::{dbdelta, dbdelta_json, describe, Engine};

/// A first `sync` of `table` exits 0 and writes rows, a second writes none, and `diff` exits 0.
fn converges(link: &Link, job: &str) {
    let name = link.name();
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", job]);
    assert_eq!(code, 0, "{name}: first sync: {report}");
    assert!(
        rows_written(&report) > 0,
        "{name}: first sync wrote nothing: {report}"
    );
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", job]);
    assert_eq!(
        (code, rows_written(&report)),
        (0, 0),
        "{name}: a second sync must write nothing: {report}"
    );
    let (code, report) = dbdelta_json(link.dir(), &["diff", "-c", job]);
    assert_eq!(code, 0, "{name}: diff after sync must exit 0: {report}");
}

/// `sync` exits 2 and its error names the table, `key N`, the column and the value; the target
/// table is left empty.
async fn refused(link: &Link, job: &str, table: &str, key: i64, column: &str, value: &str) {
    let name = link.name();
    let output = dbdelta(link.dir(), &["sync", "-c", job, table]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{name}: {value} into {table}.{column} must be refused:\n{}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in [table, &format!("key {key}"), column, value] {
        assert!(
            stderr.contains(part),
            "{name}: the error must name {part:?}:\n{stderr}"
        );
    }
    assert_eq!(
        link.target().count(table).await,
        0,
        "{name}: nothing may be written to {table}"
    );
}

// ---------------------------------------------------------------------------------------------
// SQLite's loose spellings

const SPELLINGS: &str = "INSERT INTO spellings VALUES \
    (1, '10:30', '2024-01-01', '2024-01-01', '2024-1-5', 'true', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'), \
    (2, '9:05', '2024-01-01 10:00', '2024-01-01 10:00', '2024-01-05', 't', '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}'), \
    (3, '10:30:00.1234560', '2024-1-5', '2024-1-5 9:05:03', '2024-12-31', 'false', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), \
    (4, '23:59:59', '2024-01-01 10:00:00.1234560', '2024-01-01T10:00:00Z', '2024-1-1', 'f', 'a0eebc999c0b4ef8bb6d6bb9bd380a11'), \
    (5, '00:00', '2024-02-29T23:59', '2024-02-29 23:59:59.5', '2024-02-29', 'YES', NULL), \
    (6, NULL, NULL, NULL, NULL, 'no', NULL), \
    (7, NULL, NULL, NULL, NULL, 1, NULL), \
    (8, NULL, NULL, NULL, NULL, 0, NULL)";

/// What the target holds after the sync, as `exact::read` normalises it.
fn canonical_spellings() -> Rows {
    let uuid = Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    let rows: [(i64, [Option<&str>; 6]); 8] = [
        (
            1,
            [
                Some("10:30:00.000000"),
                Some("2024-01-01 00:00:00.000000"),
                Some("2024-01-01 00:00:00.000000"),
                Some("2024-01-05"),
                Some("1"),
                uuid,
            ],
        ),
        (
            2,
            [
                Some("09:05:00.000000"),
                Some("2024-01-01 10:00:00.000000"),
                Some("2024-01-01 10:00:00.000000"),
                Some("2024-01-05"),
                Some("1"),
                uuid,
            ],
        ),
        (
            3,
            [
                Some("10:30:00.123456"),
                Some("2024-01-05 00:00:00.000000"),
                Some("2024-01-05 09:05:03.000000"),
                Some("2024-12-31"),
                Some("0"),
                uuid,
            ],
        ),
        (
            4,
            [
                Some("23:59:59.000000"),
                Some("2024-01-01 10:00:00.123456"),
                Some("2024-01-01 10:00:00.000000"),
                Some("2024-01-01"),
                Some("0"),
                uuid,
            ],
        ),
        (
            5,
            [
                Some("00:00:00.000000"),
                Some("2024-02-29 23:59:00.000000"),
                Some("2024-02-29 23:59:59.500000"),
                Some("2024-02-29"),
                Some("1"),
                None,
            ],
        ),
        (6, [None, None, None, None, Some("0"), None]),
        (7, [None, None, None, None, Some("1"), None]),
        (8, [None, None, None, None, Some("0"), None]),
    ];
    rows.into_iter()
        .map(|(id, values)| (id, values.iter().map(|v| v.map(str::to_string)).collect()))
        .collect()
}

async fn sqlite_spellings_converge(to: Engine) {
    let Some(link) = Link::new(Engine::Sqlite, to).await else {
        return;
    };
    link.source()
        .exec(
            "CREATE TABLE spellings (id INTEGER PRIMARY KEY, tm TIME, ts DATETIME, tz TIMESTAMP, \
             d DATE, b BOOLEAN, u TEXT)",
        )
        .await;
    link.source().exec(SPELLINGS).await;
    // MariaDB's TIMESTAMP would be read back in the session's time zone: DATETIME stands in.
    let target = match to {
        Engine::Postgres => {
            "CREATE TABLE spellings (id integer PRIMARY KEY, tm time, ts timestamp, \
                             tz timestamptz, d date, b boolean, u uuid)"
        }
        _ => {
            "CREATE TABLE spellings (id integer PRIMARY KEY, tm time(6), ts datetime(6), \
              tz datetime(6), d date, b boolean, u uuid)"
        }
    };
    link.target().exec(target).await;
    let job = link.job("[[tables]]\nname = \"spellings\"\n");

    converges(&link, &job);
    let columns = [
        ("tm", Kind::Time),
        ("ts", Kind::Timestamp),
        ("tz", Kind::Timestamp),
        ("d", Kind::Date),
        ("b", Kind::Bool),
        ("u", Kind::Text),
    ];
    let held = exact::read(link.target(), to, "spellings", &columns).await;
    assert_eq!(
        held,
        canonical_spellings(),
        "{}: the target must hold each value",
        link.name()
    );
    // SQLite values come back tagged with their storage class (`t:` text, `i:` integer).
    let source = link
        .source()
        .rows("SELECT tm, b, u FROM spellings WHERE id IN (1, 7) ORDER BY id")
        .await;
    assert_eq!(
        source,
        [
            [
                Some("t:10:30".to_string()),
                Some("t:true".to_string()),
                Some("t:{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}".to_string())
            ],
            [None, Some("i:1".to_string()), None]
        ],
        "the source keeps its spellings"
    );
    link.cleanup().await;
}

#[tokio::test]
async fn sqlite_spellings_arrive_canonical_and_converge_to_pg() {
    sqlite_spellings_converge(Engine::Postgres).await;
}

#[tokio::test]
async fn sqlite_spellings_arrive_canonical_and_converge_to_mariadb() {
    sqlite_spellings_converge(Engine::MySql).await;
}

// ---------------------------------------------------------------------------------------------
// Refused before writing

async fn inexact_times_are_refused(to: Engine) {
    let Some(link) = Link::new(Engine::Sqlite, to).await else {
        return;
    };
    let (datetime, time) = match to {
        Engine::Postgres => ("timestamp", "time"),
        _ => ("datetime(6)", "time(6)"),
    };
    link.source()
        .exec(
            "CREATE TABLE frac (id INTEGER PRIMARY KEY, ts DATETIME); \
             INSERT INTO frac VALUES (1, '2024-01-01 10:00:00.1234560'), \
               (7, '2024-01-01 10:00:00.1234567'); \
             CREATE TABLE clock (id INTEGER PRIMARY KEY, tm TIME); \
             INSERT INTO clock VALUES (1, '10:30'), (4, '10:30:00.0000001'); \
             CREATE TABLE offsets (id INTEGER PRIMARY KEY, ts DATETIME); \
             INSERT INTO offsets VALUES (1, '2024-01-01 10:00:00Z'), \
               (3, '2024-01-01 10:00:00+02:00')",
        )
        .await;
    link.target()
        .exec(&format!(
            "CREATE TABLE frac (id integer PRIMARY KEY, ts {datetime}); \
             CREATE TABLE clock (id integer PRIMARY KEY, tm {time}); \
             CREATE TABLE offsets (id integer PRIMARY KEY, ts {datetime})"
        ))
        .await;
    let job = link.job(
        "[[tables]]\nname = \"frac\"\n[[tables]]\nname = \"clock\"\n[[tables]]\nname = \"offsets\"\n",
    );
    refused(&link, &job, "frac", 7, "ts", "2024-01-01 10:00:00.1234567").await;
    refused(&link, &job, "clock", 4, "tm", "10:30:00.0000001").await;
    refused(&link, &job, "offsets", 3, "ts", "2024-01-01 10:00:00+02:00").await;
    link.cleanup().await;
}

#[tokio::test]
async fn digits_and_offsets_the_target_would_drop_are_refused_sqlite_to_pg() {
    inexact_times_are_refused(Engine::Postgres).await;
}

#[tokio::test]
async fn digits_and_offsets_the_target_would_drop_are_refused_sqlite_to_mariadb() {
    inexact_times_are_refused(Engine::MySql).await;
}

#[tokio::test]
async fn a_json_number_no_double_holds_is_refused_for_a_sqlite_json_column() {
    let Some(link) = Link::new(Engine::Postgres, Engine::Sqlite).await else {
        return;
    };
    link.source()
        .exec(
            "CREATE TABLE docs (id integer PRIMARY KEY, v jsonb); \
             INSERT INTO docs VALUES (1, '1.5'), (7, '0.10000000000000000001')",
        )
        .await;
    link.target()
        .exec("CREATE TABLE docs (id INTEGER PRIMARY KEY, v JSON)")
        .await;
    let job = link.job("[[tables]]\nname = \"docs\"\n");
    refused(&link, &job, "docs", 7, "v", "0.10000000000000000001").await;
    link.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// JSON numbers

/// A SQLite column read back as JSON: a number stored as INTEGER or REAL is the JSON number it
/// prints as (REAL exactly, by Rust's shortest round-trip digits), text is the document.
fn sqlite_json(tagged: Option<&str>) -> Option<String> {
    let tagged = tagged?;
    let (tag, text) = tagged.split_at(2);
    assert!(matches!(tag, "t:" | "i:" | "r:"), "JSON stored as {tagged}");
    Some(exact::exact_json(text).unwrap_or_else(|e| panic!("{tagged}: {e}")))
}

async fn bare_json_numbers_converge_in_sqlite(from: Engine) {
    let Some(link) = Link::new(from, Engine::Sqlite).await else {
        return;
    };
    let json = if from == Engine::Postgres {
        "jsonb"
    } else {
        "json"
    };
    link.source()
        .exec(&format!(
            "CREATE TABLE docs (id integer PRIMARY KEY, v {json})"
        ))
        .await;
    link.source()
        .exec(
            "INSERT INTO docs VALUES (1, '1.5'), (2, '100.0'), (3, '1e2'), (4, '{\"n\": 1e2}'), \
             (5, '\"1.5\"'), (6, '-0.000001'), (7, '1e20'), (8, 'true'), (9, '[1.50, 2]'), \
             (10, '-12345678901234')",
        )
        .await;
    link.target()
        .exec("CREATE TABLE docs (id INTEGER PRIMARY KEY, v JSON)")
        .await;
    let job = link.job("[[tables]]\nname = \"docs\"\n");

    converges(&link, &job);
    let source = exact::read(link.source(), from, "docs", &[("v", Kind::Json)]).await;
    let target: Rows = link
        .target()
        .rows("SELECT id, v FROM docs ORDER BY id")
        .await
        .into_iter()
        .map(|row| {
            let id = row[0]
                .as_deref()
                .and_then(|k| k.strip_prefix("i:")?.parse().ok());
            (
                id.unwrap_or_else(|| panic!("key {:?}", row[0])),
                vec![sqlite_json(row[1].as_deref())],
            )
        })
        .collect();
    assert_eq!(
        source,
        target,
        "{}: every document arrives by value",
        link.name()
    );
    link.cleanup().await;
}

#[tokio::test]
async fn bare_json_numbers_converge_in_a_sqlite_json_column_from_pg() {
    bare_json_numbers_converge_in_sqlite(Engine::Postgres).await;
}

#[tokio::test]
async fn bare_json_numbers_converge_in_a_sqlite_json_column_from_mariadb() {
    bare_json_numbers_converge_in_sqlite(Engine::MySql).await;
}

#[tokio::test]
async fn json_numbers_spelled_with_exponents_converge_mariadb_to_pg_jsonb() {
    let Some(link) = Link::new(Engine::MySql, Engine::Postgres).await else {
        return;
    };
    link.source()
        .exec(
            "CREATE TABLE docs (id integer PRIMARY KEY, v json); \
             INSERT INTO docs VALUES (1, '{\"n\": 1e2}'), (2, '{\"n\": 100.0}'), \
               (3, '[1.50, 1E+2, -0, 2.5e-3]'), (4, '12345678901234567890123'), \
               (5, '{\"a\": {\"b\": 1e-7}}')",
        )
        .await;
    link.target()
        .exec("CREATE TABLE docs (id integer PRIMARY KEY, v jsonb)")
        .await;
    let job = link.job("[[tables]]\nname = \"docs\"\n");

    converges(&link, &job);
    let columns = [("v", Kind::Json)];
    let source = exact::read(link.source(), link.from, "docs", &columns).await;
    let target = exact::read(link.target(), link.to, "docs", &columns).await;
    assert_eq!(
        source,
        target,
        "{}: every document arrives by value",
        link.name()
    );
    link.cleanup().await;
}

// ---------------------------------------------------------------------------------------------
// Text into binary

async fn sqlite_text_into_binary_converges(to: Engine) {
    let Some(link) = Link::new(Engine::Sqlite, to).await else {
        return;
    };
    // `blobs_json` has a JSON column too, so that both sides hash it in-process.
    link.source()
        .exec(
            "CREATE TABLE blobs (id INTEGER PRIMARY KEY, v TEXT); \
             CREATE TABLE blobs_json (id INTEGER PRIMARY KEY, v TEXT, j JSON); \
             INSERT INTO blobs VALUES (1, 'hello'), (2, 'ü€😀'), (3, ''), (4, x'00ff'); \
             INSERT INTO blobs_json SELECT id, v, '{\"k\": 1}' FROM blobs",
        )
        .await;
    let (binary, json) = match to {
        Engine::Postgres => ("bytea", "jsonb"),
        _ => ("blob", "json"),
    };
    link.target()
        .exec(&format!(
            "CREATE TABLE blobs (id integer PRIMARY KEY, v {binary}); \
             CREATE TABLE blobs_json (id integer PRIMARY KEY, v {binary}, j {json})"
        ))
        .await;
    let job = link.job("[[tables]]\nname = \"blobs\"\n[[tables]]\nname = \"blobs_json\"\n");

    converges(&link, &job);
    let bytes = |text: &str| Some(hex::encode(text.as_bytes()));
    let expected: Rows = [
        (1, bytes("hello")),
        (2, bytes("ü€😀")),
        (3, bytes("")),
        (4, Some("00ff".to_string())),
    ]
    .into_iter()
    .map(|(id, v)| (id, vec![v]))
    .collect();
    for table in ["blobs", "blobs_json"] {
        let held = exact::read(link.target(), to, table, &[("v", Kind::Bytes)]).await;
        assert_eq!(
            held,
            expected,
            "{}: {table} holds the text's bytes",
            link.name()
        );
    }
    let source = link.source().rows("SELECT v FROM blobs ORDER BY id").await;
    assert_eq!(
        source[1][0].as_deref(),
        Some("t:ü€😀"),
        "the source keeps its text"
    );
    link.cleanup().await;
}

#[tokio::test]
async fn sqlite_text_into_bytea_arrives_as_its_utf8_bytes_and_converges() {
    sqlite_text_into_binary_converges(Engine::Postgres).await;
}

#[tokio::test]
async fn sqlite_text_into_blob_arrives_as_its_utf8_bytes_and_converges() {
    sqlite_text_into_binary_converges(Engine::MySql).await;
}

/// A key that a write respells (SQLite's `2024-1-5` becomes `2024-01-05`) is still checked
/// against the target's rows outside the subset: the PostgreSQL row `2024-01-05` of another
/// tenant is not overwritten.
#[tokio::test]
async fn a_respelled_key_cannot_overwrite_a_row_outside_the_subset_sqlite_to_pg() {
    let Some(link) = Link::new(Engine::Sqlite, Engine::Postgres).await else {
        return;
    };
    link.source()
        .exec(
            "CREATE TABLE days (day DATE NOT NULL PRIMARY KEY, tenant INTEGER);
             INSERT INTO days VALUES ('2024-1-5', 1);",
        )
        .await;
    link.target()
        .exec(
            "CREATE TABLE days (day date PRIMARY KEY, tenant integer);
             INSERT INTO days VALUES ('2024-01-05', 2);",
        )
        .await;
    let job = link.job("[[tables]]\nname = \"days\"\nwhere = \"tenant = 1\"\n");
    let output = dbdelta(link.dir(), &["sync", "-c", &job]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("outside the subset"),
        "{}",
        describe(&output)
    );
    let target = link
        .target()
        .rows("SELECT day::text, tenant::text FROM days")
        .await;
    assert_eq!(
        target,
        [vec![Some("2024-01-05".to_string()), Some("2".to_string())]]
    );
    link.cleanup().await;
}
