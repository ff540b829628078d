//! Key ranges are cut from the data: every `chunk_size`-th key of the source starts a new chunk,
//! however sparse the keys, and keys the target holds beyond the source's are cut the same way
//! (PostgreSQL walks its index in one recursive query, MySQL and SQLite a query per boundary
//! near the source, MySQL one `ROW_NUMBER()` query when the source is far). The ranges `diff
//! --json` lists show the cuts exactly.

use crate::common::slow_link::slow_link;
use crate::common::{dbdelta_json, table_report, write_job, Engine, Pair};
use std::net::ToSocketAddrs;
use std::time::Duration;

/// Source keys `n²` for n in 0..95 (sparse, so no equal widths), every value differing on the
/// target, which also holds 25 keys above the source's largest: with `chunk_size = 10` the
/// source is cut at the 11th, 21st, … key (10², 20², …, 90²) and the target's extra keys at
/// the 10th and 20th of them. `far`: the source is reached through a link that delays each
/// direction by 3 ms, so that dbdelta takes it for a remote source.
async fn sparse_keys_are_cut_every_chunk_size_keys(engine: Engine, far: bool) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    pair.exec_both("CREATE TABLE cuts (id bigint NOT NULL PRIMARY KEY, v varchar(20))")
        .await;
    let values = |label: &str, keys: &mut dyn Iterator<Item = u64>| {
        let rows: Vec<String> = keys.map(|k| format!("({k}, '{label}')")).collect();
        format!("INSERT INTO cuts (id, v) VALUES {}", rows.join(", "))
    };
    pair.source
        .exec(&values("source", &mut (0..95).map(|n| n * n)))
        .await;
    pair.target
        .exec(&values("target", &mut (0..95).map(|n| n * n)))
        .await;
    pair.target
        .exec(&values("extra", &mut (0..25).map(|n| 100_000 + n)))
        .await;
    let rest = "[defaults]\nchunk_size = 10\n[[tables]]\nname = \"cuts\"\n";
    let path = if far {
        let mut url = url::Url::parse(&pair.source_url).expect("source URL");
        let upstream = (
            url.host_str().unwrap_or("127.0.0.1"),
            url.port().unwrap_or(3306),
        )
            .to_socket_addrs()
            .ok()
            .and_then(|mut addresses| addresses.next())
            .expect("source address");
        let port = slow_link(upstream, Duration::from_millis(3));
        url.set_host(Some("127.0.0.1")).expect("proxy host");
        url.set_port(Some(port)).expect("proxy port");
        let job = pair.dir.path().join("far.toml");
        write_job(&job, url.as_str(), &pair.target_url, rest)
    } else {
        pair.job_file(rest)
    };
    let (code, listing) = dbdelta_json(
        pair.dir.path(),
        &["diff", "-c", path.to_str().unwrap_or_default()],
    );
    assert_eq!(code, 1, "{listing:#}");
    let ranges: Vec<&str> = table_report(&listing, "cuts")["differences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["range"].as_str())
        .collect();
    let mut bounds: Vec<String> = vec!["-inf".into()];
    bounds.extend((1..10).map(|n| (n * 10 * n * 10).to_string()));
    bounds.extend(["100009".into(), "100019".into(), "+inf".into()]);
    let expected: Vec<String> = bounds
        .windows(2)
        .map(|w| format!("[{}, {})", w[0], w[1]))
        .collect();
    assert_eq!(ranges, expected, "{listing:#}");
    pair.cleanup().await;
}

#[tokio::test]
async fn sparse_keys_are_cut_every_chunk_size_keys_postgres() {
    sparse_keys_are_cut_every_chunk_size_keys(Engine::Postgres, false).await;
}

#[tokio::test]
async fn sparse_keys_are_cut_every_chunk_size_keys_mysql() {
    sparse_keys_are_cut_every_chunk_size_keys(Engine::MySql, false).await;
}

#[tokio::test]
async fn sparse_keys_are_cut_every_chunk_size_keys_sqlite() {
    sparse_keys_are_cut_every_chunk_size_keys(Engine::Sqlite, false).await;
}

#[tokio::test]
async fn sparse_keys_are_cut_every_chunk_size_keys_far_mysql() {
    sparse_keys_are_cut_every_chunk_size_keys(Engine::MySql, true).await;
}
