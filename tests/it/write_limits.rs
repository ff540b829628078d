//! What a target's server limits do to writes: rows are batched by bytes under MySQL's
//! `max_allowed_packet` (not only by count), a row larger than any statement can carry is refused
//! at once with the limit named (never retried as a lost connection), a row too large for MySQL
//! to hash is refused rather than left out of the comparison, and PostgreSQL's
//! `GENERATED ALWAYS AS IDENTITY` keys take the source's values.

use crate::common::{dbdelta, dbdelta_json, describe, table_report, write_job, Conn, Engine, Pair};

/// Each row's id and the MD5 of its body: equal bodies without moving megabytes into the test.
async fn bodies(conn: &Conn) -> Vec<Vec<Option<String>>> {
    conn.rows("SELECT CAST(id AS CHAR), MD5(body) FROM big ORDER BY id")
        .await
}

#[tokio::test]
async fn megabyte_rows_are_written_in_batches_under_max_allowed_packet_mariadb() {
    let Some(pair) = Pair::new(Engine::MySql).await else {
        return;
    };
    pair.exec_both("CREATE TABLE big (id int PRIMARY KEY, body longtext)")
        .await;
    // 24 MiB in one chunk, more than the server's default max_allowed_packet of 16 MiB.
    pair.source
        .exec("INSERT INTO big SELECT seq, REPEAT(CHAR(65 + seq % 26), 1048576) FROM seq_1_to_24")
        .await;
    let job = pair.job_file("[[tables]]\nname = \"big\"\n");
    let job = job.to_str().unwrap_or_default();
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert_eq!(bodies(&pair.source).await, bodies(&pair.target).await);

    // Updates take the upsert path rather than a first load's.
    pair.target
        .exec("UPDATE big SET body = 'x' WHERE id % 2 = 0")
        .await;
    let (code, report) = dbdelta_json(pair.dir.path(), &["sync", "-c", job]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(table_report(&report, "big")["updated"], 12, "{report}");
    assert_eq!(bodies(&pair.source).await, bodies(&pair.target).await);
    let (code, report) = dbdelta_json(pair.dir.path(), &["sync", "-c", job]);
    assert_eq!(
        (code, report["in_sync"].as_bool()),
        (0, Some(true)),
        "{report}"
    );
    pair.cleanup().await;
}

/// Three 6 MB values: 18 MB, more than MariaDB's 16 MiB `max_allowed_packet`.
const HUGE_ROW: &str =
    "INSERT INTO huge VALUES (1, REPEAT('a', 6000000), REPEAT('b', 6000000), REPEAT('c', 6000000))";

#[tokio::test]
async fn a_row_no_statement_can_carry_is_refused_at_once_postgres_to_mariadb() {
    let (Some(pg), Some(my)) = (
        Pair::new(Engine::Postgres).await,
        Pair::new(Engine::MySql).await,
    ) else {
        return;
    };
    pg.source
        .exec("CREATE TABLE huge (id int PRIMARY KEY, a text, b text, c text)")
        .await;
    pg.source.exec(HUGE_ROW).await;
    pg.source
        .exec("INSERT INTO huge VALUES (2, 'x', 'y', 'z')")
        .await;
    my.target
        .exec("CREATE TABLE huge (id int PRIMARY KEY, a longtext, b longtext, c longtext)")
        .await;
    let job = write_job(
        &pg.dir.path().join("huge.toml"),
        &pg.source_url,
        &my.target_url,
        "[[tables]]\nname = \"huge\"\n",
    );
    let output = dbdelta(
        pg.dir.path(),
        &["sync", "-c", job.to_str().unwrap_or_default()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stderr.contains("key 1") && stderr.contains("max_allowed_packet"),
        "{stderr}"
    );
    assert!(!stderr.contains("retry"), "tried again: {stderr}");
    assert_eq!(
        my.target.count("huge").await,
        0,
        "nothing of the chunk is written"
    );
    pg.cleanup().await;
    my.cleanup().await;
}

#[tokio::test]
async fn a_row_too_large_for_mariadb_to_hash_is_refused_not_taken_for_equal() {
    let Some(pair) = Pair::new(Engine::MySql).await else {
        return;
    };
    pair.exec_both("CREATE TABLE huge (id int PRIMARY KEY, a longtext, b longtext, c longtext)")
        .await;
    pair.exec_both(HUGE_ROW).await;
    // The rows differ in their last column only: a hash computed over a NULL would match.
    pair.target
        .exec("UPDATE huge SET c = REPEAT('d', 6000000)")
        .await;
    let job = pair.job_file("[[tables]]\nname = \"huge\"\n");
    let output = dbdelta(
        pair.dir.path(),
        &["diff", "-c", job.to_str().unwrap_or_default()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(
        stderr.contains("too large") && stderr.contains("max_allowed_packet"),
        "{stderr}"
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn generated_always_identity_keys_take_the_source_values_postgres() {
    let Some(pair) = Pair::new(Engine::Postgres).await else {
        return;
    };
    pair.source
        .exec("CREATE TABLE items (id int PRIMARY KEY, name text)")
        .await;
    pair.target
        .exec("CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text)")
        .await;
    pair.source
        .exec("INSERT INTO items SELECT i * 10, 'item ' || i FROM generate_series(1, 50) i")
        .await;
    let job = pair.job_file("[[tables]]\nname = \"items\"\n");
    let job = job.to_str().unwrap_or_default();
    let read = "SELECT id::text, name FROM items ORDER BY id";
    // A first load, then inserts and updates into rows the target holds.
    for change in [
        "SELECT 1",
        "INSERT INTO items VALUES (1000, 'new'), (1001, 'newer')",
        "UPDATE items SET name = 'changed' WHERE id <= 100",
    ] {
        pair.source.exec(change).await;
        let output = dbdelta(pair.dir.path(), &["sync", "-c", job]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{change}: {}",
            describe(&output)
        );
        assert_eq!(pair.source.rows(read).await, pair.target.rows(read).await);
    }
    pair.cleanup().await;
}
