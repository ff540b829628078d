//! What is accepted arrives exactly and converges. For every value the first `sync` writes, the
//! target holds exactly that value, so `diff` then exits 0 and a second `sync` writes nothing;
//! a value the target column cannot hold exactly is refused before anything is written (exit 2,
//! naming the table, the key, the column and the value, the target untouched):
//! fractional seconds beyond the target's precision (values whose extra digits are zero fit),
//! SQLite decimals beyond a `numeric(p,s)` scale, a UTC offset into a timestamp without time
//! zone, dates and timestamps before year 1 into MariaDB. `24:00:00` and the BC era arrive as
//! they are, and `24:00:00` is never taken for midnight; a SQLite timestamp column whose texts
//! carry offsets is created as `timestamptz` and arrives as the same instants.
//!
//! Both sides are read back with sqlx (`common/exact.rs`), never through dbdelta's checksums.

use crate::common::exact::{self, describe_differences, normalise, rows_written, Kind, Link};
use crate::common::{dbdelta, dbdelta_json, describe, Engine};

use Engine::{MySql, Postgres, Sqlite};

/// A value that does not fit the target column, and one that does.
struct Case<'a> {
    from: Engine,
    to: Engine,
    /// The column `v` on the source and on the target.
    decl: [&'a str; 2],
    kind: Kind,
    /// SQL literal every source row holds, and that fits the target.
    fit: &'a str,
    /// SQL literal of key 7 on the source, which the target cannot hold exactly.
    bad: &'a str,
    /// What the error must quote of the refused value.
    shown: &'a str,
    /// The target's value of every row after the sync, as its read-back normalises, where the
    /// source's read-back spells it otherwise (a SQLite REAL, an offset): else the source's.
    expect: Option<&'a str>,
}

/// `prec (id, v)`: keys 1..=10 with `fit` on the source but key 7 with `bad`, keys 1..=9 with
/// NULL on the target. `sync` must exit 2 naming table, key, column and value, and leave the
/// target as it was; with key 7 set to `fit` the sync writes, the target holds exactly what
/// the source does, `diff` exits 0 and a second sync writes no row.
async fn refused_then_converges(case: Case<'_>) {
    let Some(link) = Link::new(case.from, case.to).await else {
        return;
    };
    let name = format!("{} ({} → {})", link.name(), case.decl[0], case.decl[1]);
    for (conn, decl) in [(link.source(), case.decl[0]), (link.target(), case.decl[1])] {
        conn.exec(&format!(
            "CREATE TABLE prec (id integer PRIMARY KEY, v {decl})"
        ))
        .await;
    }
    let rows: Vec<String> = (1..=10)
        .map(|k| format!("({k}, {})", if k == 7 { case.bad } else { case.fit }))
        .collect();
    link.source()
        .exec(&format!(
            "INSERT INTO prec (id, v) VALUES {}",
            rows.join(", ")
        ))
        .await;
    let old: Vec<String> = (1..=9).map(|k| format!("({k}, NULL)")).collect();
    link.target()
        .exec(&format!(
            "INSERT INTO prec (id, v) VALUES {}",
            old.join(", ")
        ))
        .await;
    let columns = [("v", case.kind)];
    let before = exact::read(link.target(), link.to, "prec", &columns).await;
    let job = link.job("[[tables]]\nname = \"prec\"\nchunk_size = 1000\n");

    let output = dbdelta(link.dir(), &["sync", "-c", &job]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{name}: {} must be refused before writing:\n{}",
        case.bad,
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    for part in ["table prec", "key 7", "column \"v\"", case.shown] {
        assert!(
            stderr.contains(part),
            "{name}: the error must name {part:?}:\n{stderr}"
        );
    }
    let after = exact::read(link.target(), link.to, "prec", &columns).await;
    assert!(
        before == after,
        "{name}: a refused sync must leave the target as it was:\n{}",
        describe_differences(&before, &after, &columns)
    );

    link.source()
        .exec(&format!("UPDATE prec SET v = {} WHERE id = 7", case.fit))
        .await;
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "{name}: sync of fitting values: {report:#}");
    let source = match case.expect {
        Some(text) => (1..=10)
            .map(|k| (k, vec![normalise(case.to, case.kind, Some(text))]))
            .collect(),
        None => exact::read(link.source(), link.from, "prec", &columns).await,
    };
    let target = exact::read(link.target(), link.to, "prec", &columns).await;
    assert!(
        source == target,
        "{name}: the target must hold exactly the source's values:\n{}",
        describe_differences(&source, &target, &columns)
    );
    converged(&link, &job, &name);
    link.cleanup().await;
}

/// `diff` exits 0 and a second `sync` writes no row.
fn converged(link: &Link, job: &str, name: &str) {
    let (code, report) = dbdelta_json(link.dir(), &["diff", "-c", job]);
    assert_eq!(code, 0, "{name}: diff after sync: {report:#}");
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", job]);
    assert_eq!(
        (code, rows_written(&report)),
        (0, 0),
        "{name}: a second sync must write nothing: {report:#}"
    );
}

const MICROS: &str = "'2024-01-01 10:00:02.020409'";
const MILLIS: &str = "'2024-01-01 10:00:02.020000'";

fn fraction<'a>(from: Engine, to: Engine, decl: [&'a str; 2], fit: &'a str) -> Case<'a> {
    Case {
        from,
        to,
        decl,
        kind: Kind::Timestamp,
        fit,
        bad: MICROS,
        shown: "10:00:02.020409",
        expect: None,
    }
}

#[tokio::test]
async fn fractions_into_whole_seconds_are_refused_pg_to_mariadb() {
    refused_then_converges(Case {
        bad: "'2024-01-01 10:00:00.7'",
        shown: "10:00:00.7",
        ..fraction(
            Postgres,
            MySql,
            ["timestamp(6)", "DATETIME"],
            "'2024-01-01 10:00:00'",
        )
    })
    .await;
}

#[tokio::test]
async fn microseconds_into_milliseconds_are_refused_pg_to_mariadb() {
    refused_then_converges(fraction(
        Postgres,
        MySql,
        ["timestamp(6)", "datetime(3)"],
        MILLIS,
    ))
    .await;
}

#[tokio::test]
async fn microseconds_into_milliseconds_are_refused_mariadb_to_pg() {
    refused_then_converges(fraction(
        MySql,
        Postgres,
        ["datetime(6)", "timestamp(3)"],
        MILLIS,
    ))
    .await;
}

#[tokio::test]
async fn microseconds_into_milliseconds_are_refused_sqlite_to_pg() {
    refused_then_converges(fraction(
        Sqlite,
        Postgres,
        ["TIMESTAMP", "timestamp(3)"],
        MILLIS,
    ))
    .await;
}

#[tokio::test]
async fn microseconds_into_milliseconds_are_refused_pg_to_pg() {
    refused_then_converges(fraction(
        Postgres,
        Postgres,
        ["timestamp(6)", "timestamp(3)"],
        MILLIS,
    ))
    .await;
}

#[tokio::test]
async fn microseconds_into_milliseconds_are_refused_mariadb() {
    refused_then_converges(fraction(
        MySql,
        MySql,
        ["datetime(6)", "datetime(3)"],
        MILLIS,
    ))
    .await;
}

#[tokio::test]
async fn microseconds_into_whole_seconds_with_time_zone_are_refused_pg_to_pg() {
    refused_then_converges(Case {
        bad: "'2024-01-01 10:00:02.020409+00'",
        ..fraction(
            Postgres,
            Postgres,
            ["timestamptz(6)", "timestamptz(0)"],
            "'2024-01-01 10:00:02+00'",
        )
    })
    .await;
}

/// The offset is no fraction digit: `…02.020409+02:00` has six of them.
#[tokio::test]
async fn microseconds_with_an_offset_into_milliseconds_are_refused_sqlite_to_pg() {
    refused_then_converges(Case {
        bad: "'2024-01-01 12:00:02.020409+02:00'",
        shown: "12:00:02.020409+02:00",
        expect: Some("2024-01-01 10:00:02.020"),
        ..fraction(
            Sqlite,
            Postgres,
            ["TIMESTAMP", "timestamptz(3)"],
            "'2024-01-01 12:00:02.020+02:00'",
        )
    })
    .await;
}

#[tokio::test]
async fn sqlite_numeric_beyond_the_scale_is_refused_sqlite_to_pg() {
    refused_then_converges(Case {
        from: Sqlite,
        to: Postgres,
        decl: ["NUMERIC(65,10)", "numeric(6,3)"],
        kind: Kind::Decimal,
        fit: "0.002",
        bad: "0.00188",
        shown: "0.00188",
        expect: Some("0.002"),
    })
    .await;
}

#[tokio::test]
async fn sqlite_real_beyond_the_scale_is_refused_sqlite_to_pg() {
    refused_then_converges(Case {
        from: Sqlite,
        to: Postgres,
        decl: ["REAL", "numeric(65,10)"],
        kind: Kind::Decimal,
        fit: "0.0012019231",
        bad: "0.001201923076923077",
        shown: "0.001201923076923077",
        expect: Some("0.0012019231"),
    })
    .await;
}

#[tokio::test]
async fn sqlite_integer_beyond_the_precision_is_refused_sqlite_to_mariadb() {
    refused_then_converges(Case {
        from: Sqlite,
        to: MySql,
        decl: ["NUMERIC", "decimal(6,3)"],
        kind: Kind::Decimal,
        fit: "'123.5'",
        bad: "12345",
        shown: "12345",
        expect: Some("123.5"),
    })
    .await;
}

/// PostgreSQL would drop the offset of a text written into `timestamp`: another instant.
#[tokio::test]
async fn an_offset_into_a_timestamp_without_time_zone_is_refused_sqlite_to_pg() {
    refused_then_converges(Case {
        from: Sqlite,
        to: Postgres,
        decl: ["TIMESTAMP", "timestamp"],
        kind: Kind::Timestamp,
        fit: "'2020-01-01 15:10:10'",
        bad: "'2020-01-01 17:10:10+02:00'",
        shown: "2020-01-01 17:10:10+02:00",
        expect: None,
    })
    .await;
}

#[tokio::test]
async fn bc_dates_are_refused_pg_to_mariadb() {
    refused_then_converges(Case {
        from: Postgres,
        to: MySql,
        decl: ["date", "date"],
        kind: Kind::Date,
        fit: "'0044-03-15'",
        bad: "'0044-03-15 BC'",
        shown: "0044-03-15 BC",
        expect: None,
    })
    .await;
}

#[tokio::test]
async fn bc_timestamps_are_refused_pg_to_mariadb() {
    refused_then_converges(Case {
        from: Postgres,
        to: MySql,
        decl: ["timestamp", "datetime(6)"],
        kind: Kind::Timestamp,
        fit: "'2024-03-15 12:00'",
        bad: "'0044-03-15 12:00 BC'",
        shown: "0044-03-15 12:00:00.000000 BC",
        expect: None,
    })
    .await;
}

/// `exact (id, …)` holds `rows` on the source and nothing on the target; one sync makes the
/// target hold exactly the source's values (read back per `columns`), then it has converged.
async fn arrives_exactly(link: &Link, decl: [&str; 2], rows: &str, columns: &[(&str, Kind)]) {
    let name = link.name();
    for (conn, decl) in [(link.source(), decl[0]), (link.target(), decl[1])] {
        conn.exec(&format!(
            "CREATE TABLE exact (id integer PRIMARY KEY, {decl})"
        ))
        .await;
    }
    link.source()
        .exec(&format!("INSERT INTO exact VALUES {rows}"))
        .await;
    let job = link.job("[[tables]]\nname = \"exact\"\n");
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "{name}: sync: {report:#}");
    let source = exact::read(link.source(), link.from, "exact", columns).await;
    let target = exact::read(link.target(), link.to, "exact", columns).await;
    assert!(
        source == target,
        "{name}: the target must hold exactly the source's values:\n{}",
        describe_differences(&source, &target, columns)
    );
    converged(link, &job, &name);
}

/// `24:00:00` arrives as `24:00:00` (MariaDB's TIME holds ±838 hours, SQLite the text), and a
/// target holding midnight instead is a difference on every engine.
#[tokio::test]
async fn time_24_00_arrives_and_is_not_midnight() {
    for (from, to, decl) in [
        (Postgres, Sqlite, ["time", "TIME"]),
        (Postgres, MySql, ["time", "time"]),
        (Postgres, MySql, ["time(6)", "time(6)"]),
        (MySql, Postgres, ["time(6)", "time(6)"]),
        (MySql, MySql, ["time", "time"]),
        (Sqlite, Postgres, ["TIME", "time"]),
        (Sqlite, Sqlite, ["TIME", "TIME"]),
    ] {
        let Some(link) = Link::new(from, to).await else {
            return;
        };
        let columns = [("t", Kind::Time)];
        let decl = [format!("t {}", decl[0]), format!("t {}", decl[1])];
        arrives_exactly(
            &link,
            [&decl[0], &decl[1]],
            "(1, '24:00:00'), (2, '00:00:00'), (3, '12:30:00')",
            &columns,
        )
        .await;
        link.target()
            .exec("UPDATE exact SET t = '00:00:00' WHERE id = 1")
            .await;
        let job = link.job("[[tables]]\nname = \"exact\"\n");
        let (code, listed, report) = exact::diff(&link, &job, "exact");
        assert!(
            code == 1 && listed.changed == [1].into(),
            "{}: midnight in the target is not 24:00:00: exit {code}, {report:#}",
            link.name()
        );
        link.cleanup().await;
    }
}

/// PostgreSQL's era arrives in SQLite (` BC` kept, as PostgreSQL prints it) and converges.
#[tokio::test]
async fn bc_timestamps_and_dates_arrive_pg_to_sqlite() {
    let Some(link) = Link::new(Postgres, Sqlite).await else {
        return;
    };
    arrives_exactly(
        &link,
        ["ts timestamp, d date", "ts TIMESTAMP, d DATE"],
        "(1, '0044-03-15 12:00 BC', '0044-03-15 BC'), (2, '2024-03-15 12:00', '2024-03-15')",
        &[("ts", Kind::Timestamp), ("d", Kind::Date)],
    )
    .await;
    link.cleanup().await;
}

/// A SQLite `TIMESTAMP` column whose texts carry offsets is created as `timestamptz`: every
/// value arrives as the same instant (texts without an offset are UTC, as the comparison reads
/// them) and the tables converge.
#[tokio::test]
async fn sqlite_timestamps_with_offsets_are_created_with_a_time_zone_sqlite_to_pg() {
    let Some(link) = Link::new(Sqlite, Postgres).await else {
        return;
    };
    link.source()
        .exec("CREATE TABLE zoned (id integer PRIMARY KEY, ts TIMESTAMP)")
        .await;
    link.source()
        .exec(
            "INSERT INTO zoned VALUES (1, '2020-01-01 17:10:10+02:00'), \
             (2, '2020-01-01T23:30:00.5-01:00'), (3, '2020-01-01 09:00:00'), (4, NULL)",
        )
        .await;
    let job = link.job("[defaults]\ncreate_missing = true\n[[tables]]\nname = \"zoned\"\n");
    let (code, report) = dbdelta_json(link.dir(), &["sync", "-c", &job]);
    assert_eq!(code, 0, "sync: {report:#}");
    let declared = link
        .target()
        .rows("SELECT data_type::text FROM information_schema.columns WHERE table_name = 'zoned' AND column_name = 'ts'")
        .await;
    assert_eq!(
        declared,
        vec![vec![Some("timestamp with time zone".to_string())]]
    );
    let instants = link
        .target()
        .rows("SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM zoned ORDER BY id")
        .await;
    let expected = [
        Some("2020-01-01 15:10:10.000000"),
        Some("2020-01-02 00:30:00.500000"),
        Some("2020-01-01 09:00:00.000000"),
        None,
    ];
    assert_eq!(
        instants,
        expected
            .iter()
            .map(|v| vec![v.map(str::to_string)])
            .collect::<Vec<_>>()
    );
    converged(&link, &job, &link.name());
    link.cleanup().await;
}
